/** The research queue's names and payloads: the one place producer and processor agree on. */
export const RESEARCH_QUEUE = 'research';

export enum ResearchJobName {
  Run = 'run-research',
}

export interface RunResearchJob {
  researchId: string;
  tenantId: string;
  /** The request id of the HTTP call that created the research, for logs across processes. */
  requestId: string | null;
}

export type ResearchJobState =
  'waiting' | 'active' | 'delayed' | 'paused' | 'completed' | 'failed' | 'stuck' | 'missing';

import { ResearchParams } from './research-params';
import { ResearchResult } from './research-result';

export interface ResearchTask {
  researchId: string;
  tenantId: string;
  question: string;
  params: ResearchParams;
  requestId: string | null;
  /** 1 for the first run of this research, higher after retries and recoveries. */
  attempt: number;
}

export interface ResearchRunContext {
  /** Aborted when the research is cancelled, its lease is lost, or the worker shuts down. */
  readonly signal: AbortSignal;
  /** Call between steps: throws when the research must stop. */
  checkpoint(): Promise<void>;
  /** Appends a progress event to the research; throws when the research must stop. */
  emit(type: string, data?: Record<string, unknown>): Promise<void>;
}

/**
 * The port a research engine implements. The worker binds one adapter; the execution service
 * handles claiming, leases, retries and the final state around it.
 */
export abstract class ResearchRunner {
  abstract readonly engine: string;
  abstract run(task: ResearchTask, context: ResearchRunContext): Promise<ResearchResult>;
}

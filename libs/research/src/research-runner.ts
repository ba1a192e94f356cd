import { RunEventType } from './research-event-type';
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
  /**
   * Where the time budget counts from, across runs: the first start, moved later by the time
   * the research then spent waiting (handed back during an outage or a shutdown, failed before
   * a retry).
   */
  startedAt: Date;
}

/** What a step left for a later run of the same research. */
export interface CompletedStep {
  data: unknown;
  usage: Record<string, unknown>;
}

/**
 * A source as stored with its research: the snapshot of exactly what was read, which every quote
 * of the research is checked against, numbered as the report cites it.
 */
export interface StoredSource {
  n: number;
  kind: 'document' | 'web';
  /** The provider that found it: `corpus`, `searxng`, `tavily`, `brave`. */
  provider: string;
  documentId: string | null;
  url: string | null;
  /** Where a page was read, after redirects; null for a document. */
  finalUrl: string | null;
  title: string;
  /** The page's HTTP status; null for a document. */
  httpStatus: number | null;
  /** The page's media type; null for a document. */
  mediaType: string | null;
  /** SHA-256 of `text`, hex. */
  contentHash: string;
  text: string;
  retrievedAt: Date;
}

export interface ResearchRunContext {
  /** Aborted when the research is cancelled, its lease is lost, or the worker shuts down. */
  readonly signal: AbortSignal;
  /** Call between steps: throws when the research must stop. */
  checkpoint(): Promise<void>;
  /** Appends a progress event to the research; throws when the research must stop. */
  emit(type: RunEventType, data?: Record<string, unknown>): Promise<void>;
  /** Steps completed by earlier runs of this research, by name. */
  loadSteps(): Promise<Map<string, CompletedStep>>;
  /** Records a completed step; throws when the research must stop. */
  saveStep(name: string, data: unknown, usage?: Record<string, unknown>): Promise<void>;
  /** The sources stored by an earlier run, by number. */
  loadSources(): Promise<StoredSource[]>;
  /** Stores the sources the research will read; throws when the research must stop. */
  saveSources(sources: StoredSource[]): Promise<void>;
}

/**
 * The port a research engine implements. The worker binds one adapter; the execution service
 * handles claiming, leases, retries and the final state around it.
 */
export abstract class ResearchRunner {
  abstract readonly engine: string;
  abstract run(task: ResearchTask, context: ResearchRunContext): Promise<ResearchResult>;
}

/**
 * The result document of a finished research, stored as JSON and returned as is by the API, so
 * its fields are in the API's snake_case. Every runner produces this shape.
 */
export interface ResearchResult {
  engine: string;
  language: string;
  /** Markdown; every `[n]` refers to `sources[n - 1]`. */
  report: string;
  /** `none`: nothing relevant was found; `insufficient`: too little to answer well. */
  evidence: 'sufficient' | 'insufficient' | 'none';
  /** True when a budget ran out, a stage failed for good or sources were left out; the report says which. */
  partial: boolean;
  /**
   * Why the report is partial, the first cause: `budget_tokens`, `budget_cost`, `budget_llm_calls`,
   * `budget_time`, `writer_failed`, `verifier_failed`, `sources_skipped`.
   */
  partial_reason: string | null;
  sources: ResearchSource[];
  findings: ResearchFinding[];
  claims: ResearchClaim[];
  /** The plan the research followed (LLM engine; null when planning failed and the question was searched). */
  plan?: { sub_questions: { question: string; queries: string[] }[] } | null;
  /** Each search-and-read round (LLM engine). */
  rounds?: ResearchRound[];
  /**
   * Why the rounds stopped (LLM engine): `answered` (the gap analysis found nothing open), `depth`
   * (the rounds asked for are done), `budget`, `no_new_queries`, `no_new_sources`, `search_failed`
   * (a follow-up search reached no provider) or `gap_failed` (the gap analysis failed for good).
   */
  stop_reason?: string | null;
  /** The LLM usage ledger; null for engines that call no LLM. */
  usage: ResearchUsage | null;
  stats: Record<string, number>;
}

export interface ResearchRound {
  round: number;
  /** The queries searched: the question and the plan's in round 1, the gap analysis's after. */
  queries: string[];
  /** New sources the round found; read, or skipped when the model failed on them. */
  sources: number;
  sources_read: number;
  findings: number;
}

export interface UsageEntry {
  /** Every HTTP call to the LLM, failed, timed out, rate limited and repair calls included. */
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  duration_ms: number;
  /** The calls by how they ended: `success`, `rate_limited`, `server_error`, `timeout`, `rejected`, `aborted`. */
  outcomes?: Record<string, number>;
}

/** Calls to search providers and page fetches, and how many of them failed. */
export interface ToolUsage {
  calls: number;
  failed: number;
}

export interface ResearchUsage {
  /** By pipeline stage: planner, reader, writer, verifier. */
  stages: Record<string, UsageEntry>;
  total: UsageEntry;
  /** Queries sent to search providers (one per query and provider). */
  search?: ToolUsage;
  /** Web pages fetched to be read (corpus documents are not fetched). */
  fetch?: ToolUsage;
  budget: {
    limits: { tokens: number; cost_usd: number; llm_calls: number; seconds: number };
    /** The budget that ran out, if one did. */
    exhausted: string | null;
    /**
     * False when some model the research uses has no price in `LLM_PRICES`: its calls cost 0 in
     * the ledger, so `cost_usd` is not a limit that can run out.
     */
    cost_enforced?: boolean;
  };
}

export interface ResearchSource {
  n: number;
  kind: 'document' | 'web';
  /** The provider that found it: `corpus`, `searxng`, `tavily`, `brave`. */
  provider: string;
  document_id: string | null;
  url: string | null;
  title: string;
  content_hash: string;
  retrieved_at: string;
}

/** A verbatim passage of a source: `quote === source text.slice(start, end)`. */
export interface ResearchFinding {
  id: string;
  source: number;
  quote: string;
  start: number;
  end: number;
  /** Relevance (extractive engine) or null. */
  score: number | null;
  /** What the finding says about the question, in the reader's words (LLM engine). */
  note: string | null;
}

/** How a report sentence stands against the quotes it cites. */
export type ClaimLabel =
  | 'supported'
  | 'partially_supported'
  | 'unsupported'
  | 'contradicted'
  /** Not checked: verification was off, failed, or gave no verdict for it. */
  | 'unverified'
  /** The writer's own synthesis across findings, citing none; shown marked as such. */
  | 'synthesis';

/** One sentence of the report (or, for the extractive engine, one quote) and its verification. */
export interface ResearchClaim {
  /** The sentence as the report shows it, or as it was written when it was removed. */
  text: string;
  label: ClaimLabel;
  sources: number[];
  /** Ids of the findings it cites. */
  findings: string[];
  /** False for a sentence removed from the report; kept here so a reviewer sees what was cut. */
  kept: boolean;
  /** True when the sentence was rewritten after the first check; its label is the second check's. */
  rewritten: boolean;
}

export interface ResearchFailure {
  code: string;
  message: string;
}

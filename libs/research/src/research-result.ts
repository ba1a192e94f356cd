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
  partial: boolean;
  sources: ResearchSource[];
  findings: ResearchFinding[];
  claims: ResearchClaim[];
  stats: Record<string, number>;
}

export interface ResearchSource {
  n: number;
  kind: 'document' | 'web';
  document_id: string | null;
  url: string | null;
  title: string;
  content_hash: string;
  retrieved_at: string;
}

/** A verbatim passage of a source: `quote === source text.slice(start, end)`. */
export interface ResearchFinding {
  source: number;
  quote: string;
  start: number;
  end: number;
  score: number;
}

export interface ResearchClaim {
  text: string;
  label: 'supported' | 'contradicted' | 'unverified';
  sources: number[];
}

export interface ResearchFailure {
  code: string;
  message: string;
}

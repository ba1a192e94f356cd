export interface SearchQuery {
  tenantId: string;
  /** The question or query in natural language. */
  text: string;
  limit: number;
  signal?: AbortSignal;
}

export interface SearchHit {
  kind: 'document' | 'web';
  documentId: string | null;
  url: string | null;
  title: string;
  /** The full text that was searched; quotes are taken from it. */
  text: string;
  contentHash: string;
  score: number;
  retrievedAt: Date;
}

/** A place to find sources: the local corpus, a web search engine... */
export abstract class SearchProvider {
  abstract readonly name: string;
  abstract search(query: SearchQuery): Promise<SearchHit[]>;
}

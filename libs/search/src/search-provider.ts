export interface SearchQuery {
  tenantId: string;
  /** The question or query in natural language. */
  text: string;
  limit: number;
  /** The research's BCP 47 language, for engines that take one. */
  language?: string;
  signal?: AbortSignal;
}

export type SourceKind = 'document' | 'web';

/**
 * What a research keeps of a source it read: the exact text its quotes are checked against, and
 * where and when that text came from. Stored with the research, so its citations stay checkable
 * after the document is deleted or the page changes.
 */
export interface SourceSnapshot {
  kind: SourceKind;
  /** The provider that found it: `corpus`, `searxng`, `tavily`, `brave`. */
  provider: string;
  documentId: string | null;
  /** The document's URL, or the URL the search engine gave. */
  url: string | null;
  /** Where the page was read, after redirects; null for a document. */
  finalUrl: string | null;
  title: string;
  /** The HTTP status of the page; null for a document. */
  httpStatus: number | null;
  /** The media type the page was served as; null for a document. */
  mediaType: string | null;
  /** SHA-256 of `text`, hex. */
  contentHash: string;
  text: string;
  retrievedAt: Date;
}

/** One result of a provider: what was found, and, for the corpus, the text already in hand. */
export interface SearchHit {
  provider: string;
  kind: SourceKind;
  documentId: string | null;
  url: string | null;
  title: string;
  /** The provider's excerpt (a search engine's snippet), or the start of the document. */
  snippet: string;
  /** The provider's own relevance score: comparable only within one provider and one query. */
  score: number;
  /** The source as read, when the provider holds its text (the corpus); null when the page must be fetched. */
  snapshot: SourceSnapshot | null;
}

/** A place to find sources: the local corpus, a web search engine. */
export abstract class SearchProvider {
  abstract readonly name: string;
  /** Hits best first. */
  abstract search(query: SearchQuery): Promise<SearchHit[]>;
}

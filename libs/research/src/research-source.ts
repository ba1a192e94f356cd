import { ResearchSource } from './research-result';
import { StoredSource } from './research-runner';

/** A stored source as the result document lists it: everything but the text and the fetch details. */
export function resultSource(source: Omit<StoredSource, 'text'>): ResearchSource {
  return {
    n: source.n,
    kind: source.kind,
    provider: source.provider,
    document_id: source.documentId,
    url: source.url,
    title: source.title,
    content_hash: source.contentHash,
    retrieved_at: source.retrievedAt.toISOString(),
  };
}

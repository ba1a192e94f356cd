import { Injectable } from '@nestjs/common';
import { SearchHit, SearchProvider, SearchQuery } from '../search-provider';
import { queryTerms } from '../text/segmenter';
import { CorpusRepository } from './corpus.repository';

const SNIPPET_CHARACTERS = 300;

/** Searches the tenant's own documents in PostgreSQL; each hit carries the document's text as read. */
@Injectable()
export class CorpusSearchProvider extends SearchProvider {
  readonly name = 'corpus';

  constructor(private readonly repository: CorpusRepository) {
    super();
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    const retrievedAt = new Date();
    const found = await this.repository.search(query.tenantId, queryTerms(query.text), query.limit, query.signal);
    return found.map(({ document, score }) => ({
      provider: this.name,
      kind: 'document' as const,
      documentId: document.id,
      url: document.url,
      title: document.title,
      snippet: document.text.slice(0, SNIPPET_CHARACTERS),
      score,
      snapshot: {
        kind: 'document' as const,
        provider: this.name,
        documentId: document.id,
        url: document.url,
        finalUrl: null,
        title: document.title,
        httpStatus: null,
        mediaType: null,
        contentHash: document.contentHash,
        text: document.text,
        retrievedAt,
      },
    }));
  }
}

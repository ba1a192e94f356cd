import { Injectable } from '@nestjs/common';
import { SearchHit, SearchProvider, SearchQuery } from '../search-provider';
import { queryTerms } from '../text/segmenter';
import { CorpusRepository } from './corpus.repository';

/** Searches the tenant's own documents in PostgreSQL. */
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
      kind: 'document' as const,
      documentId: document.id,
      url: document.url,
      title: document.title,
      text: document.text,
      contentHash: document.contentHash,
      score,
      retrievedAt,
    }));
  }
}

import { SearchHit, SearchProvider, SearchQuery } from '../search-provider';
import { WebSearchProvider } from '../providers/web-search-provider';

/**
 * A web search engine as a source provider: its results are places to read, without text; the
 * pages chosen are fetched and snapshotted by SourceSearch.
 */
export class WebSearchSource extends SearchProvider {
  readonly name: string;

  constructor(private readonly engine: WebSearchProvider) {
    super();
    this.name = engine.name;
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    const results = await this.engine.search({
      text: query.text,
      limit: query.limit,
      language: query.language,
      signal: query.signal,
    });
    return results.map((result, rank) => ({
      provider: this.name,
      kind: 'web' as const,
      documentId: null,
      url: result.url,
      title: result.title,
      snippet: result.snippet,
      // The engine's order is its judgement; its scores, when it gives any, are not comparable across engines.
      score: result.score ?? 1 / (rank + 1),
      snapshot: null,
    }));
  }
}

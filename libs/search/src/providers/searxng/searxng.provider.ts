import { ProviderHttp, ProviderHttpSettings, SearchProviderError } from '../provider-http';
import {
  WebQuery,
  WebResult,
  WebSearchProvider,
  dateOrNull,
  finiteOrNull,
  keepResults,
  textOr,
} from '../web-search-provider';

/** The part of SearXNG's `format=json` answer that is read (searx/webapp.py, `search()`). */
interface SearxngAnswer {
  query?: string;
  results?: {
    url?: unknown;
    title?: unknown;
    content?: unknown;
    score?: unknown;
    publishedDate?: unknown;
    engine?: unknown;
  }[];
  unresponsive_engines?: unknown;
}

/**
 * A self-hosted SearXNG instance through its JSON API: `GET {SEARXNG_URL}/search?q=&format=json`.
 * The `json` format must be enabled in the instance's `settings.yml` (`search.formats`); an
 * instance that refuses it answers 403, which is reported as such. SearXNG returns one page of
 * results (about 20, merged from its engines, best first); the first `limit` are kept.
 */
export class SearxngSearchProvider extends WebSearchProvider {
  readonly name = 'searxng';
  private readonly http: ProviderHttp;
  private readonly endpoint: URL;

  constructor(baseUrl: string, settings: ProviderHttpSettings) {
    super();
    this.endpoint = new URL('search', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    this.http = new ProviderHttp(this.name, settings);
  }

  async search(query: WebQuery): Promise<WebResult[]> {
    const url = new URL(this.endpoint);
    url.searchParams.set('q', query.text);
    url.searchParams.set('format', 'json');
    url.searchParams.set('pageno', '1');
    url.searchParams.set('safesearch', '1');
    if (query.language) url.searchParams.set('language', query.language);
    const answer = (await this.http.json({ method: 'GET', url: url.href, signal: query.signal })) as SearxngAnswer;
    if (typeof answer !== 'object' || answer === null || !Array.isArray(answer.results)) {
      throw new SearchProviderError(this.name, 'bad_response', 'the answer has no results list');
    }
    return keepResults(
      answer.results,
      query.limit,
      (result) => result.url,
      (result, url) => ({
        url,
        title: textOr(result.title, url),
        snippet: textOr(result.content, ''),
        publishedAt: dateOrNull(result.publishedDate),
        score: finiteOrNull(result.score),
        provider: this.name,
      }),
    );
  }
}

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

interface TavilyAnswer {
  results?: { url?: unknown; title?: unknown; content?: unknown; score?: unknown; published_date?: unknown }[];
}

/** Tavily caps `max_results` at 20. */
const MAX_RESULTS = 20;

/**
 * Tavily's search API: `POST {TAVILY_BASE_URL}/search` with the key as a bearer token and a JSON
 * body; `basic` depth, no generated answer and no raw content (pages are fetched, and
 * snapshotted, by the service itself).
 */
export class TavilySearchProvider extends WebSearchProvider {
  readonly name = 'tavily';
  private readonly http: ProviderHttp;
  private readonly endpoint: string;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    settings: ProviderHttpSettings,
  ) {
    super();
    this.endpoint = new URL('search', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
    this.http = new ProviderHttp(this.name, settings);
  }

  async search(query: WebQuery): Promise<WebResult[]> {
    const answer = (await this.http.json({
      method: 'POST',
      url: this.endpoint,
      headers: { authorization: `Bearer ${this.apiKey}` },
      body: {
        query: query.text,
        max_results: Math.min(query.limit, MAX_RESULTS),
        search_depth: 'basic',
        include_answer: false,
        include_raw_content: false,
        include_images: false,
      },
      signal: query.signal,
    })) as TavilyAnswer;
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
        publishedAt: dateOrNull(result.published_date),
        score: finiteOrNull(result.score),
        provider: this.name,
      }),
    );
  }
}

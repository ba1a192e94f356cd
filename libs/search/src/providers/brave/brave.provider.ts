import { htmlLibraries } from '../../pages/html-libraries';
import { ProviderHttp, ProviderHttpSettings, SearchProviderError } from '../provider-http';
import { WebQuery, WebResult, WebSearchProvider, dateOrNull, keepResults } from '../web-search-provider';

interface BraveAnswer {
  web?: { results?: { url?: unknown; title?: unknown; description?: unknown; page_age?: unknown }[] };
}

/** Brave caps `count` at 20. */
const MAX_RESULTS = 20;

/** Brave's `search_lang` codes for Chinese name the script, not the region. */
function braveLanguage(tag: string): string {
  const lower = tag.toLowerCase();
  if (/^zh-(tw|hk|mo|hant)/.test(lower)) return 'zh-hant';
  if (lower === 'zh' || /^zh-(cn|sg|hans)/.test(lower)) return 'zh-hans';
  return lower.split('-')[0]!;
}

/**
 * Brave Search's web API: `GET {BRAVE_BASE_URL}/res/v1/web/search?q=&count=` with the key in
 * `X-Subscription-Token`. Its descriptions mark the matched words with HTML (`<strong>`), which is
 * turned into plain text.
 */
export class BraveSearchProvider extends WebSearchProvider {
  readonly name = 'brave';
  private readonly http: ProviderHttp;
  private readonly endpoint: URL;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
    settings: ProviderHttpSettings,
  ) {
    super();
    this.endpoint = new URL('res/v1/web/search', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    this.http = new ProviderHttp(this.name, settings);
  }

  async search(query: WebQuery): Promise<WebResult[]> {
    const url = new URL(this.endpoint);
    url.searchParams.set('q', query.text);
    url.searchParams.set('count', String(Math.min(query.limit, MAX_RESULTS)));
    url.searchParams.set('safesearch', 'moderate');
    if (query.language) url.searchParams.set('search_lang', braveLanguage(query.language));
    const answer = (await this.http.json({
      method: 'GET',
      url: url.href,
      headers: { 'x-subscription-token': this.apiKey },
      signal: query.signal,
    })) as BraveAnswer;
    if (typeof answer !== 'object' || answer === null) {
      throw new SearchProviderError(this.name, 'bad_response', 'the answer is not an object');
    }
    // A query with no web results has no `web` section at all.
    const found = answer.web?.results ?? [];
    if (!Array.isArray(found)) throw new SearchProviderError(this.name, 'bad_response', 'web.results is not a list');
    return keepResults(
      found,
      query.limit,
      (result) => result.url,
      (result, url) => ({
        url,
        title: typeof result.title === 'string' && result.title.trim() ? plain(result.title) : url,
        snippet: typeof result.description === 'string' ? plain(result.description) : '',
        publishedAt: dateOrNull(result.page_age),
        score: null,
        provider: this.name,
      }),
    );
  }
}

function plain(html: string): string {
  return htmlLibraries().convert(html, { wordwrap: false }).replace(/\s+/g, ' ').trim();
}

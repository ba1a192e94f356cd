import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { SearchProviderError, retryAfterMs } from '../provider-http';
import { SearxngSearchProvider } from './searxng.provider';

type Answer = (request: IncomingMessage, response: ServerResponse) => void;

/** A local server speaking SearXNG's `format=json`, told what to answer request by request. */
describe('SearxngSearchProvider', () => {
  let server: Server;
  let base: string;
  let answers: Answer[] = [];
  const requests: { url: URL; at: number }[] = [];

  const json =
    (body: unknown, status = 200, headers: Record<string, string> = {}): Answer =>
    (_request, response) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
  const status =
    (code: number, headers: Record<string, string> = {}): Answer =>
    (_request, response) => {
      response.writeHead(code, { 'content-type': 'text/html', ...headers });
      response.end(`<html>${code}</html>`);
    };
  const silent: Answer = () => undefined;

  const SEARXNG_ANSWER = {
    query: 'HBM supply 2024',
    number_of_results: 0,
    results: [
      {
        url: 'https://news.example/hbm',
        title: ' HBM supply tightens ',
        content: 'SK hynix sold out its 2024 HBM output.',
        engine: 'duckduckgo',
        engines: ['duckduckgo', 'brave'],
        score: 2.5,
        publishedDate: '2024-05-02T00:00:00',
        category: 'general',
      },
      { url: 'https://news.example/hbm', title: 'the same page from another engine', content: '', score: 1 },
      { url: 'magnet:?xt=urn:btih:abc', title: 'not a web page', content: '' },
      { url: 'javascript:alert(1)', title: 'not a web page either', content: '' },
      { url: 'https://blog.example/memory', title: '', content: 'Memory prices.', score: null, publishedDate: null },
      { url: 'https://third.example/', title: 'Third', content: 'more' },
    ],
    answers: [],
    corrections: [],
    infoboxes: [],
    suggestions: [],
    unresponsive_engines: [['google', 'CAPTCHA']],
  };

  const provider = (overrides: Partial<ConstructorParameters<typeof SearxngSearchProvider>[1]> = {}) =>
    new SearxngSearchProvider(base, { timeoutMs: 500, retries: 2, backoffMs: 20, maxDelayMs: 2000, ...overrides });

  async function failure(promise: Promise<unknown>): Promise<SearchProviderError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SearchProviderError);
    return error as SearchProviderError;
  }

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push({ url: new URL(request.url ?? '/', 'http://searxng.test'), at: Date.now() });
      (answers.shift() ?? status(500))(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/searxng`;
  });

  beforeEach(() => {
    answers = [];
    requests.length = 0;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('asks /search for JSON, in the language asked, and keeps web results once each, best first, up to the limit', async () => {
    answers.push(json(SEARXNG_ANSWER));
    const results = await provider().search({ text: 'HBM supply 2024', limit: 2, language: 'zh-TW' });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url.pathname).toBe('/searxng/search');
    expect(Object.fromEntries(requests[0]!.url.searchParams)).toMatchObject({
      q: 'HBM supply 2024',
      format: 'json',
      language: 'zh-TW',
      pageno: '1',
    });
    expect(results).toEqual([
      {
        url: 'https://news.example/hbm',
        title: 'HBM supply tightens',
        snippet: 'SK hynix sold out its 2024 HBM output.',
        publishedAt: new Date('2024-05-02T00:00:00'),
        score: 2.5,
        provider: 'searxng',
      },
      {
        url: 'https://blog.example/memory',
        title: 'https://blog.example/memory',
        snippet: 'Memory prices.',
        publishedAt: null,
        score: null,
        provider: 'searxng',
      },
    ]);
  });

  it('waits what Retry-After asks for after a 429, then tries again', async () => {
    answers.push(status(429, { 'retry-after': '1' }), json(SEARXNG_ANSWER));
    const results = await provider().search({ text: 'q', limit: 10 });
    expect(results.map((result) => result.url)).toEqual([
      'https://news.example/hbm',
      'https://blog.example/memory',
      'https://third.example/',
    ]);
    expect(requests).toHaveLength(2);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('tries 5xx answers and timeouts again with backoff, and says why it gave up after the last try', async () => {
    answers.push(status(502), silent, json(SEARXNG_ANSWER));
    expect(await provider().search({ text: 'q', limit: 1 })).toHaveLength(1);
    expect(requests).toHaveLength(3);

    requests.length = 0;
    answers = [status(503), status(503), status(503), json(SEARXNG_ANSWER)];
    expect(await failure(provider().search({ text: 'q', limit: 1 }))).toMatchObject({
      reason: 'server_error',
      status: 503,
    });
    expect(requests).toHaveLength(3);

    requests.length = 0;
    answers = [silent, silent];
    expect((await failure(provider({ retries: 1 }).search({ text: 'q', limit: 1 }))).reason).toBe('timeout');
    expect(requests).toHaveLength(2);
  });

  it('gives up at once when a 429 asks for a longer wait than allowed', async () => {
    answers.push(status(429, { 'retry-after': '3600' }), json(SEARXNG_ANSWER));
    const started = Date.now();
    expect(await failure(provider().search({ text: 'q', limit: 1 }))).toMatchObject({
      reason: 'rate_limited',
      status: 429,
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(requests).toHaveLength(1);
  });

  it('does not retry a refusal: an instance without the JSON format answers 403', async () => {
    answers.push(status(403), json(SEARXNG_ANSWER));
    const error = await failure(provider().search({ text: 'q', limit: 1 }));
    expect(error).toMatchObject({ reason: 'rejected', status: 403 });
    expect(requests).toHaveLength(1);
  });

  it('says when the answer is not SearXNG JSON', async () => {
    answers.push(status(200));
    expect((await failure(provider().search({ text: 'q', limit: 1 }))).reason).toBe('bad_response');
    answers.push(json({ query: 'q', results: 'none' }));
    expect((await failure(provider().search({ text: 'q', limit: 1 }))).reason).toBe('bad_response');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('Sat, 28 Nov 2026 10:00:00 GMT');
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs('Sat, 28 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Sat, 28 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

import { ScriptedHttpServer, jsonAnswer as json, silentAnswer as silent, statusAnswer as status } from '@app/testing';
import { SearchProviderError, retryAfterMs } from '../provider-http';
import { SearxngSearchProvider } from './searxng.provider';

/** A local server speaking SearXNG's `format=json`, told what to answer request by request. */
describe('SearxngSearchProvider', () => {
  let server: ScriptedHttpServer;

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
    new SearxngSearchProvider(`${server.base}/searxng`, {
      timeoutMs: 500,
      retries: 2,
      backoffMs: 20,
      maxDelayMs: 2000,
      ...overrides,
    });

  async function failure(promise: Promise<unknown>): Promise<SearchProviderError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SearchProviderError);
    return error as SearchProviderError;
  }

  beforeAll(async () => {
    server = await ScriptedHttpServer.start();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('asks /search for JSON, in the language asked, and keeps web results once each, best first, up to the limit', async () => {
    server.answer(json(SEARXNG_ANSWER));
    const results = await provider().search({ text: 'HBM supply 2024', limit: 2, language: 'zh-TW' });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.url.pathname).toBe('/searxng/search');
    expect(Object.fromEntries(server.requests[0]!.url.searchParams)).toMatchObject({
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
    server.answer(status(429, { 'retry-after': '1' }), json(SEARXNG_ANSWER));
    const results = await provider().search({ text: 'q', limit: 10 });
    expect(results.map((result) => result.url)).toEqual([
      'https://news.example/hbm',
      'https://blog.example/memory',
      'https://third.example/',
    ]);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('tries 5xx answers and timeouts again with backoff, and says why it gave up after the last try', async () => {
    server.answer(status(502), silent, json(SEARXNG_ANSWER));
    expect(await provider().search({ text: 'q', limit: 1 })).toHaveLength(1);
    expect(server.requests).toHaveLength(3);

    server.answer(status(503), status(503), status(503), json(SEARXNG_ANSWER));
    expect(await failure(provider().search({ text: 'q', limit: 1 }))).toMatchObject({
      reason: 'server_error',
      status: 503,
    });
    expect(server.requests).toHaveLength(3);

    server.answer(silent, silent);
    expect((await failure(provider({ retries: 1 }).search({ text: 'q', limit: 1 }))).reason).toBe('timeout');
    expect(server.requests).toHaveLength(2);
  });

  it('gives up at once when a 429 asks for a longer wait than allowed', async () => {
    server.answer(status(429, { 'retry-after': '3600' }), json(SEARXNG_ANSWER));
    const started = Date.now();
    expect(await failure(provider().search({ text: 'q', limit: 1 }))).toMatchObject({
      reason: 'rate_limited',
      status: 429,
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry a refusal: an instance without the JSON format answers 403', async () => {
    server.answer(status(403), json(SEARXNG_ANSWER));
    const error = await failure(provider().search({ text: 'q', limit: 1 }));
    expect(error).toMatchObject({ reason: 'rejected', status: 403 });
    expect(server.requests).toHaveLength(1);
  });

  it('says when the answer is not SearXNG JSON', async () => {
    server.answer(status(200));
    expect((await failure(provider().search({ text: 'q', limit: 1 }))).reason).toBe('bad_response');
    server.answer(json({ query: 'q', results: 'none' }));
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

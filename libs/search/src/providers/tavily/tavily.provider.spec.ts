import { ScriptedHttpServer, jsonAnswer as json, statusAnswer as status } from '@app/testing';
import { SearchProviderError } from '../provider-http';
import { TavilySearchProvider } from './tavily.provider';

/** Against a local server speaking Tavily's `POST /search`. */
describe('TavilySearchProvider', () => {
  let server: ScriptedHttpServer;
  const TAVILY_ANSWER = {
    query: 'HBM supply',
    answer: null,
    images: [],
    results: [
      {
        title: 'HBM supply tightens',
        url: 'https://news.example/hbm',
        content: 'SK hynix sold out its 2024 HBM output.',
        score: 0.91,
        raw_content: null,
        published_date: 'Thu, 02 May 2024 08:00:00 GMT',
      },
      { title: 'Duplicate', url: 'https://news.example/hbm', content: 'again', score: 0.5 },
      { title: 'Ftp', url: 'ftp://files.example/hbm.txt', content: 'no', score: 0.4 },
      { title: '', url: 'https://blog.example/memory', content: 'Memory prices.', score: 0.3 },
    ],
    response_time: 1.2,
  };
  const provider = () =>
    new TavilySearchProvider(server.base, 'tvly-test-key', {
      timeoutMs: 500,
      retries: 1,
      backoffMs: 10,
      maxDelayMs: 1000,
    });

  beforeAll(async () => {
    server = await ScriptedHttpServer.start();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('posts the query with the key as a bearer token, asks for no generated answer, and keeps web results once each', async () => {
    server.answer(json(TAVILY_ANSWER));
    const results = await provider().search({ text: 'HBM supply', limit: 30 });
    const [request] = server.requests;
    expect(request).toMatchObject({ method: 'POST', headers: { authorization: 'Bearer tvly-test-key' } });
    expect(request!.url.pathname).toBe('/search');
    expect(JSON.parse(request!.body)).toEqual({
      query: 'HBM supply',
      max_results: 20,
      search_depth: 'basic',
      include_answer: false,
      include_raw_content: false,
      include_images: false,
    });
    expect(results).toEqual([
      {
        url: 'https://news.example/hbm',
        title: 'HBM supply tightens',
        snippet: 'SK hynix sold out its 2024 HBM output.',
        publishedAt: new Date('2024-05-02T08:00:00Z'),
        score: 0.91,
        provider: 'tavily',
      },
      {
        url: 'https://blog.example/memory',
        title: 'https://blog.example/memory',
        snippet: 'Memory prices.',
        publishedAt: null,
        score: 0.3,
        provider: 'tavily',
      },
    ]);
  });

  it('reports a rejected key without retrying, and retries a rate limit', async () => {
    server.answer(json({ detail: { error: 'Unauthorized: missing or invalid API key.' } }, 401), json(TAVILY_ANSWER));
    const rejected = await provider()
      .search({ text: 'q', limit: 1 })
      .catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(SearchProviderError);
    expect(rejected).toMatchObject({ reason: 'rejected', status: 401 });
    expect((rejected as Error).message).toContain('invalid API key');
    expect(server.requests).toHaveLength(1);

    server.answer(status(429, { 'retry-after': '0' }), json(TAVILY_ANSWER));
    expect(await provider().search({ text: 'q', limit: 1 })).toHaveLength(1);
    expect(server.requests).toHaveLength(2);
  });
});

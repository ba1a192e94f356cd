import { ScriptedHttpServer, jsonAnswer as json, statusAnswer as status } from '@app/testing';
import { SearchProviderError } from '../provider-http';
import { BraveSearchProvider } from './brave.provider';

/** Against a local server speaking Brave Search's `GET /res/v1/web/search`. */
describe('BraveSearchProvider', () => {
  let server: ScriptedHttpServer;
  const BRAVE_ANSWER = {
    type: 'search',
    query: { original: 'HBM supply' },
    mixed: { type: 'mixed', main: [] },
    web: {
      type: 'search',
      results: [
        {
          type: 'search_result',
          title: '<strong>HBM</strong> supply tightens',
          url: 'https://news.example/hbm',
          description: 'SK hynix sold out its 2024 <strong>HBM</strong> output &amp; more.',
          page_age: '2024-05-02T08:00:00',
          age: 'May 2, 2024',
        },
        { title: 'Same', url: 'https://news.example/hbm', description: 'again' },
        { title: 'Memory', url: 'https://blog.example/memory', description: 'Memory prices.' },
      ],
    },
  };
  const provider = () =>
    new BraveSearchProvider(server.base, 'brave-test-key', {
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

  it('sends the key in X-Subscription-Token, the count and the language as Brave names it, and reads plain text', async () => {
    server.answer(json(BRAVE_ANSWER));
    const results = await provider().search({ text: 'HBM supply', limit: 5, language: 'zh-TW' });
    const [request] = server.requests;
    expect(request!.headers['x-subscription-token']).toBe('brave-test-key');
    expect(request!.url.pathname).toBe('/res/v1/web/search');
    expect(Object.fromEntries(request!.url.searchParams)).toMatchObject({
      q: 'HBM supply',
      count: '5',
      search_lang: 'zh-hant',
    });
    expect(results).toEqual([
      {
        url: 'https://news.example/hbm',
        title: 'HBM supply tightens',
        snippet: 'SK hynix sold out its 2024 HBM output & more.',
        publishedAt: new Date('2024-05-02T08:00:00'),
        score: null,
        provider: 'brave',
      },
      {
        url: 'https://blog.example/memory',
        title: 'Memory',
        snippet: 'Memory prices.',
        publishedAt: null,
        score: null,
        provider: 'brave',
      },
    ]);
  });

  it('reads an answer without web results as none, and one that is not Brave JSON as a bad response', async () => {
    server.answer(json({ type: 'search', query: { original: 'zzqx' } }));
    expect(await provider().search({ text: 'zzqx', limit: 5 })).toEqual([]);
    server.answer(json({ web: { results: 'none' } }));
    const error = await provider()
      .search({ text: 'q', limit: 5 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SearchProviderError);
    expect(error).toMatchObject({ reason: 'bad_response' });
  });

  it('gives up after its retries when the service keeps failing', async () => {
    server.answer(status(500), status(502), json(BRAVE_ANSWER));
    const error = await provider()
      .search({ text: 'q', limit: 5 })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ reason: 'server_error', status: 502 });
    expect(server.requests).toHaveLength(2);
  });
});

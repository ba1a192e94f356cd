import { ScriptedHttpServer, jsonAnswer as json, statusAnswer as status } from '@app/testing';
import { Counter, Histogram, Registry } from 'prom-client';
import { ObservedWebSearchProvider, WebSearchReadinessCheck } from './observed-web-search';
import { SearchProviderError } from './provider-http';
import { SearxngSearchProvider } from './searxng/searxng.provider';

describe('ObservedWebSearchProvider and the web search readiness check', () => {
  let server: ScriptedHttpServer;
  let registry: Registry;
  let observed: ObservedWebSearchProvider;
  let readiness: WebSearchReadinessCheck;
  const ANSWER = { query: 'q', results: [{ url: 'https://news.example/hbm', title: 'HBM', content: 'HBM supply.' }] };

  beforeAll(async () => {
    server = await ScriptedHttpServer.start();
  });

  beforeEach(() => {
    registry = new Registry();
    const requests = new Counter({
      name: 'search_requests_total',
      help: 'h',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'search_request_duration_seconds',
      help: 'h',
      labelNames: ['provider'],
      registers: [registry],
    });
    observed = new ObservedWebSearchProvider(
      new SearxngSearchProvider(server.base, { timeoutMs: 500, retries: 0, backoffMs: 10, maxDelayMs: 100 }),
      requests,
      duration,
    );
    readiness = new WebSearchReadinessCheck([observed]);
  });

  afterAll(async () => {
    await server.stop();
  });

  const counts = async () =>
    Object.fromEntries(
      (await registry.getSingleMetric('search_requests_total')!.get()).values.map((value) => [
        `${value.labels.provider}/${value.labels.outcome}`,
        value.value,
      ]),
    );

  it('counts each search by provider and outcome, times it, and warns /ready until a search succeeds again', async () => {
    server.answer(json(ANSWER), status(429), status(403), json(ANSWER));
    expect(await observed.search({ text: 'q', limit: 5 })).toHaveLength(1);
    await expect(readiness.check()).resolves.toBeUndefined();

    await expect(observed.search({ text: 'q', limit: 5 })).rejects.toBeInstanceOf(SearchProviderError);
    await expect(readiness.check()).rejects.toThrow(/^searxng: last search failed at .* \(searxng: answered 429\)$/);
    await expect(observed.search({ text: 'q', limit: 5 })).rejects.toMatchObject({ reason: 'rejected' });
    expect(observed.lastFailure).toMatchObject({ reason: 'rejected' });

    await observed.search({ text: 'q', limit: 5 });
    await expect(readiness.check()).resolves.toBeUndefined();
    expect(await counts()).toEqual({ 'searxng/ok': 2, 'searxng/rate_limited': 1, 'searxng/rejected': 1 });
    expect(await registry.metrics()).toMatch(/^search_request_duration_seconds_count\{provider="searxng"\} 4$/m);
  });

  it('counts a search its caller cancelled as cancelled, and does not hold it against the engine', async () => {
    server.answer(() => undefined);
    const controller = new AbortController();
    const search = observed.search({ text: 'q', limit: 5, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(search).rejects.toBeDefined();
    expect(observed.lastFailure).toBeNull();
    expect(await counts()).toEqual({ 'searxng/cancelled': 1 });
  });
});

import { CacheMetrics, ExpiringCache } from '@app/observability';
import { InlineTextProcessor } from '../text/inline-text-processor';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { loadConfig } from '@app/config';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Counter, Gauge, Registry } from 'prom-client';
import { SafeFetcher } from '../fetch/safe-fetcher';
import { SearchHit, SearchProvider, SearchQuery } from '../search-provider';
import { SourceSearch } from '../sources/source-search';
import { CachedPage, CachedSearchProvider, PageCache } from './source-caches';

const page = (body: string) =>
  `<html><head><title>HBM</title></head><body><article><p>${body}</p><p>More text about HBM supply in 2024 follows here.</p></article></body></html>`;

/** The caches on the real Redis, under a prefix of their own, against a page server on loopback. */
describe('source caches', () => {
  const prefix = `source-cache-spec-${process.pid}-${Date.now()}`;
  const redis = new Redis('redis://127.0.0.1:6379/0');
  let server: Server;
  let base: string;
  let fetcher: SafeFetcher;
  const seen: { path: string; ifNoneMatch: string | undefined }[] = [];
  let current = { etag: '"v1"', body: page('SK hynix led HBM supply in 2024.') };

  const registry = new Registry();
  const metrics: CacheMetrics = {
    hits: new Counter({ name: 'hits', help: 'h', labelNames: ['cache'], registers: [registry] }),
    misses: new Counter({ name: 'misses', help: 'm', labelNames: ['cache'], registers: [registry] }),
    size: new Gauge({ name: 'size', help: 's', labelNames: ['cache'], registers: [registry] }),
  };
  const count = async (name: string, cache: string) =>
    (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.cache === cache)?.value ?? 0;

  const webHit = (path: string): SearchHit => ({
    provider: 'searxng',
    kind: 'web',
    documentId: null,
    url: `${base}${path}`,
    title: 'result',
    snippet: '',
    score: 1,
    snapshot: null,
  });
  const sources = (name: string, freshMs: number) =>
    new SourceSearch(
      [],
      fetcher,
      new InlineTextProcessor(),
      new PageCache(new ExpiringCache<CachedPage>(redis, `${prefix}:${name}:page`, 'page', 3600, metrics), freshMs),
    );

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const ifNoneMatch = request.headers['if-none-match'];
      seen.push({ path: request.url ?? '', ifNoneMatch });
      if (ifNoneMatch === current.etag) {
        response.writeHead(304, { etag: current.etag });
        response.end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html', etag: current.etag });
      response.end(current.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fetcher = new SafeFetcher(loadConfig({ FETCH_ALLOWED_HOSTS: '127.0.0.1', FETCH_RESPECT_ROBOTS: 'false' }).fetch);
  });

  beforeEach(() => {
    seen.length = 0;
  });

  afterAll(async () => {
    await fetcher.close();
    await new Promise((resolve) => server.close(resolve));
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    jest.restoreAllMocks();
  });

  it('serves a fresh page from the cache without asking its server, as the same snapshot', async () => {
    const search = sources('fresh', 60_000);
    const first = await search.read(webHit('/a'));
    const second = await search.read(webHit('/a'));
    expect(seen.map((s) => s.path)).toEqual(['/a']);
    expect(second).toEqual(first);
    expect(await count('hits', 'page')).toBeGreaterThanOrEqual(1);
    expect(await count('size', 'page')).toBeGreaterThanOrEqual(1);
  });

  it('revalidates a stale page with its ETag: a 304 keeps the copy, a new version replaces it', async () => {
    const search = sources('stale', 0);
    const first = await search.read(webHit('/b'));
    const hitsBefore = await count('hits', 'page');

    const kept = await search.read(webHit('/b'));
    expect(seen.map((s) => [s.path, s.ifNoneMatch])).toEqual([
      ['/b', undefined],
      ['/b', '"v1"'],
    ]);
    expect(kept.text).toBe(first.text);
    expect(kept.contentHash).toBe(first.contentHash);
    expect(kept.retrievedAt.getTime()).toBeGreaterThanOrEqual(first.retrievedAt.getTime());
    expect(await count('hits', 'page')).toBe(hitsBefore + 1);

    current = { etag: '"v2"', body: page('Samsung caught up on HBM supply in 2025.') };
    const changed = await search.read(webHit('/b'));
    expect(changed.text).toContain('Samsung caught up');
    expect(changed.contentHash).not.toBe(first.contentHash);
    current = { etag: '"v1"', body: page('SK hynix led HBM supply in 2024.') };
  });

  it('reuses a web engine’s results for the same query however it is spaced or cased, not for another language', async () => {
    const asked: SearchQuery[] = [];
    const engine = new (class extends SearchProvider {
      readonly name = 'searxng';
      async search(query: SearchQuery): Promise<SearchHit[]> {
        asked.push(query);
        return [webHit(`/result?q=${asked.length}`)];
      }
    })();
    const cached = new CachedSearchProvider(
      engine,
      new ExpiringCache<SearchHit[]>(redis, `${prefix}:search:search`, 'search', 3600, metrics),
    );
    const query = { tenantId: 'a', text: 'HBM supply 2024', limit: 5, language: 'en' };
    const first = await cached.search(query);
    expect(await cached.search({ ...query, tenantId: 'b', text: '  hbm   SUPPLY 2024 ' })).toEqual(first);
    expect(asked).toHaveLength(1);
    await cached.search({ ...query, language: 'zh-TW' });
    expect(asked).toHaveLength(2);
  });
});

import { ExpiringCache } from '@app/observability';
import Redis from 'ioredis';
import { Logger } from '@nestjs/common';
import { contentHash } from '../content-hash';
import { SearchHit, SearchProvider, SearchQuery, SourceSnapshot } from '../search-provider';

/** The search lib's own Redis connection (the caches), apart from Bull's and the LLM lib's. */
export const SEARCH_REDIS = Symbol('SEARCH_REDIS');

/** The PageCache, or null when pages are not cached. */
export const PAGE_CACHE = Symbol('PAGE_CACHE');

/**
 * A connection that reconnects after a Redis restart. Every cache command is bounded by the
 * cache itself, so a Redis outage makes misses, never a stalled research; and a command is
 * dropped after one failed reconnection rather than queued, so that pages written during an
 * outage do not pile up in memory.
 */
export function createSearchRedis(url: string): Redis {
  const logger = new Logger('SearchRedis');
  const redis = new Redis(url, { connectionName: 'search-cache', maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', (error: Error) => logger.warn(`search cache redis: ${error.message}`));
  return redis;
}

/** A page as kept for other researches: what was read, and what revalidates it. */
export interface CachedPage {
  snapshot: Omit<SourceSnapshot, 'retrievedAt'> & { retrievedAt: string };
  etag: string | null;
  lastModified: string | null;
  /** When the copy was last known current: read, or revalidated (304). */
  checkedAt: string;
}

/**
 * Pages read, by URL, shared by every research and tenant (public pages only: a tenant's
 * documents never pass through it). A copy is used as is for `freshMs`, then revalidated.
 * Counted as the `page` cache: a hit is a page not fetched again, or answered 304.
 */
export class PageCache {
  constructor(
    readonly entries: ExpiringCache<CachedPage>,
    readonly freshMs: number,
  ) {}

  static keyOf(url: string): string {
    return contentHash(url);
  }
}

/** The same query, however spaced or cased, in any Unicode form. */
export function normalisedQuery(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * A web engine whose results are reused for the same query (normalised), limit and language for
 * `SEARCH_CACHE_TTL_SECONDS`, across researches and tenants: public results, nothing of a
 * tenant's. Counted as the `search` cache.
 */
export class CachedSearchProvider extends SearchProvider {
  readonly name: string;

  constructor(
    private readonly inner: SearchProvider,
    private readonly cache: ExpiringCache<SearchHit[]>,
  ) {
    super();
    this.name = inner.name;
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    const key = contentHash(
      JSON.stringify([this.name, normalisedQuery(query.text), query.limit, query.language ?? null]),
    );
    const cached = await this.cache.get(key);
    this.cache.count(cached !== null);
    if (cached) return cached;
    const hits = await this.inner.search(query);
    await this.cache.set(key, hits);
    return hits;
  }
}

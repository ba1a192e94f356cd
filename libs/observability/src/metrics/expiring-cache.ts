import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Counter, Gauge } from 'prom-client';

/** A cache that does not answer in time is a miss, not a stall. */
const REDIS_TIMEOUT_MS = 500;

export interface CacheMetrics {
  hits: Counter<string>;
  misses: Counter<string>;
  size: Gauge<string>;
}

/**
 * JSON values in Redis under `<namespace>:<key>`, each for `ttlSeconds`, counted by cache name
 * in `research_cache_hits_total`, `research_cache_misses_total` and `research_cache_size`
 * (entries are indexed by expiry in a sorted set, `<namespace>:index`, so the size is one cheap
 * count). Redis trouble turns hits into misses and writes into nothing: a cache never fails a
 * research.
 */
export class ExpiringCache<T> {
  private readonly logger: Logger;
  private readonly index: string;

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    /** The `cache` label of the metrics. */
    readonly name: string,
    readonly ttlSeconds: number,
    private readonly metrics: CacheMetrics,
  ) {
    this.logger = new Logger(`Cache:${name}`);
    this.index = `${namespace}:index`;
  }

  get enabled(): boolean {
    return this.ttlSeconds > 0;
  }

  /** The value; null when absent, expired or Redis is away. The caller says whether it was a hit (`count`). */
  async get(key: string): Promise<T | null> {
    if (!this.enabled) return null;
    const raw = await this.bounded(this.redis.get(this.keyOf(key)));
    return raw === null ? null : (JSON.parse(raw) as T);
  }

  /** Counts a use of the cache: a hit saved the work the cache stands for, a miss did not. */
  count(hit: boolean): void {
    (hit ? this.metrics.hits : this.metrics.misses).inc({ cache: this.name });
  }

  async set(key: string, value: T): Promise<void> {
    if (!this.enabled) return;
    const now = Date.now();
    const full = this.keyOf(key);
    const result = await this.bounded(
      this.redis
        .multi()
        .set(full, JSON.stringify(value), 'EX', this.ttlSeconds)
        .zadd(this.index, now + this.ttlSeconds * 1000, full)
        .zremrangebyscore(this.index, '-inf', now)
        .zcard(this.index)
        .exec(),
    );
    const entries = result?.[3]?.[1];
    if (typeof entries === 'number') this.metrics.size.set({ cache: this.name }, entries);
  }

  private keyOf(key: string): string {
    return `${this.namespace}:${key}`;
  }

  private async bounded<R>(work: Promise<R>): Promise<R | null> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), REDIS_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      this.logger.warn(`${this.name} cache unavailable: ${(error as Error).message}`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}

import { AppConfig } from '@app/config';
import { CacheMetrics, ExpiringCache, Metric } from '@app/observability';
import { Inject, Module, OnModuleDestroy } from '@nestjs/common';
import { getToken } from '@willsoto/nestjs-prometheus';
import Redis from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import {
  CachedPage,
  CachedSearchProvider,
  PAGE_CACHE,
  PageCache,
  SEARCH_REDIS,
  createSearchRedis,
} from './cache/source-caches';
import { CorpusSearchProvider } from './corpus/corpus-search.provider';
import { CorpusModule } from './corpus.module';
import { ObservedWebSearchProvider, WEB_SEARCH_PROVIDERS } from './providers/observed-web-search';
import { SearchHit, SearchProvider } from './search-provider';
import { SEARCH_PROVIDERS, SourceSearch } from './sources/source-search';
import { WebSearchSource } from './sources/web-search.source';
import { TextModule } from './text.module';
import { WebFetchModule } from './web-fetch.module';
import { WebSearchModule } from './web-search.module';

const CACHE_METRICS = Symbol('CACHE_METRICS');

/**
 * Where researches find and read sources (SourceSearch): the corpus and the web engines that
 * `SEARCH_PROVIDERS` lists, in its order, with the guarded fetcher for pages, and the Redis
 * caches of web results and pages shared across researches. Needs the worker's metrics
 * (MetricsModule).
 */
@Module({
  imports: [CorpusModule, TextModule, WebSearchModule, WebFetchModule],
  providers: [
    {
      provide: SEARCH_REDIS,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => createSearchRedis(config.redisUrl),
    },
    {
      provide: CACHE_METRICS,
      inject: [getToken(Metric.CacheHits), getToken(Metric.CacheMisses), getToken(Metric.CacheSize)],
      useFactory: (hits: Counter<string>, misses: Counter<string>, size: Gauge<string>): CacheMetrics => ({
        hits,
        misses,
        size,
      }),
    },
    {
      provide: SEARCH_PROVIDERS,
      inject: [AppConfig, CorpusSearchProvider, WEB_SEARCH_PROVIDERS, SEARCH_REDIS, CACHE_METRICS],
      useFactory: (
        config: AppConfig,
        corpus: CorpusSearchProvider,
        web: ObservedWebSearchProvider[],
        redis: Redis,
        metrics: CacheMetrics,
      ) => {
        const cache = new ExpiringCache<SearchHit[]>(
          redis,
          `${cachePrefix(config)}:search`,
          'search',
          config.search.cacheTtlSeconds,
          metrics,
        );
        return config.search.providers.map((name): SearchProvider => {
          // The corpus is the tenant's own, and current: never cached.
          if (name === 'corpus') return corpus;
          const engine = new WebSearchSource(web.find((candidate) => candidate.name === name)!);
          return cache.enabled ? new CachedSearchProvider(engine, cache) : engine;
        });
      },
    },
    {
      provide: PAGE_CACHE,
      inject: [AppConfig, SEARCH_REDIS, CACHE_METRICS],
      useFactory: (config: AppConfig, redis: Redis, metrics: CacheMetrics): PageCache | null => {
        const { pageCacheTtlSeconds, pageCacheFreshSeconds } = config.search;
        if (pageCacheTtlSeconds === 0) return null;
        const entries = new ExpiringCache<CachedPage>(
          redis,
          `${cachePrefix(config)}:page`,
          'page',
          pageCacheTtlSeconds,
          metrics,
        );
        return new PageCache(entries, pageCacheFreshSeconds * 1000);
      },
    },
    SourceSearch,
  ],
  exports: [SourceSearch],
})
export class SearchModule implements OnModuleDestroy {
  constructor(@Inject(SEARCH_REDIS) private readonly redis: Redis) {}

  async onModuleDestroy(): Promise<void> {
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}

function cachePrefix(config: AppConfig): string {
  return `${config.queuePrefix}:source-cache`;
}

import { AppConfig } from '@app/config';
import { Metric } from '@app/observability';
import { Module } from '@nestjs/common';
import { getToken } from '@willsoto/nestjs-prometheus';
import { Counter, Histogram } from 'prom-client';
import { BraveSearchProvider } from './providers/brave/brave.provider';
import {
  ObservedWebSearchProvider,
  WEB_SEARCH_PROVIDERS,
  WebSearchReadinessCheck,
} from './providers/observed-web-search';
import { ProviderHttpSettings } from './providers/provider-http';
import { SearxngSearchProvider } from './providers/searxng/searxng.provider';
import { TavilySearchProvider } from './providers/tavily/tavily.provider';
import { WebSearchProvider } from './providers/web-search-provider';

/** Backoff between tries of a web engine, and the longest `Retry-After` waited for. */
const BACKOFF_MS = 500;
const MAX_RETRY_DELAY_MS = 30_000;

/** The web engines `SEARCH_PROVIDERS` lists, in its order, each observed (metrics, `/ready`). */
function webEngines(config: AppConfig): WebSearchProvider[] {
  const { search } = config;
  const http: ProviderHttpSettings = {
    timeoutMs: search.timeoutMs,
    retries: search.retries,
    backoffMs: BACKOFF_MS,
    maxDelayMs: MAX_RETRY_DELAY_MS,
  };
  return search.providers.flatMap((name): WebSearchProvider[] => {
    switch (name) {
      case 'searxng':
        return [new SearxngSearchProvider(search.searxngUrl!, http)];
      case 'tavily':
        return [new TavilySearchProvider(search.tavily!.baseUrl, search.tavily!.apiKey, http)];
      case 'brave':
        return [new BraveSearchProvider(search.brave!.baseUrl, search.brave!.apiKey, http)];
      default:
        return [];
    }
  });
}

/** The configured web search engines (`WEB_SEARCH_PROVIDERS`) and their readiness check. Needs the worker's metrics. */
@Module({
  providers: [
    {
      provide: WEB_SEARCH_PROVIDERS,
      inject: [AppConfig, getToken(Metric.SearchRequests), getToken(Metric.SearchRequestDuration)],
      useFactory: (config: AppConfig, requests: Counter<string>, duration: Histogram<string>) =>
        webEngines(config).map((engine) => new ObservedWebSearchProvider(engine, requests, duration)),
    },
    WebSearchReadinessCheck,
  ],
  exports: [WEB_SEARCH_PROVIDERS, WebSearchReadinessCheck],
})
export class WebSearchModule {}

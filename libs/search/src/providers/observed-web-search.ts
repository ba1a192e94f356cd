import { ReadinessCheck } from '@app/observability';
import { Inject, Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { Counter, Histogram } from 'prom-client';
import { SearchProviderError } from './provider-http';
import { WebQuery, WebResult, WebSearchProvider } from './web-search-provider';

/** The configured web search engines, in the order of `SEARCH_PROVIDERS`. */
export const WEB_SEARCH_PROVIDERS = Symbol('WEB_SEARCH_PROVIDERS');

export interface LastFailure {
  reason: string;
  message: string;
  at: Date;
}

/**
 * A web search engine, counted in `search_requests_total` by provider and outcome (`ok`, a
 * `ProviderFailure`, or `cancelled`) and timed in `search_request_duration_seconds`; it remembers
 * whether its last search failed, for `/ready`.
 */
export class ObservedWebSearchProvider extends WebSearchProvider {
  readonly name: string;
  private failure: LastFailure | null = null;

  constructor(
    private readonly engine: WebSearchProvider,
    private readonly requests: Counter<string>,
    private readonly duration: Histogram<string>,
  ) {
    super();
    this.name = engine.name;
  }

  /** Null once a search succeeds again. */
  get lastFailure(): LastFailure | null {
    return this.failure;
  }

  async search(query: WebQuery): Promise<WebResult[]> {
    const started = performance.now();
    let outcome = 'ok';
    try {
      const results = await this.engine.search(query);
      this.failure = null;
      return results;
    } catch (error) {
      if (query.signal?.aborted) {
        outcome = 'cancelled';
      } else {
        outcome = error instanceof SearchProviderError ? error.reason : 'network';
        this.failure = { reason: outcome, message: (error as Error).message, at: new Date() };
      }
      throw error;
    } finally {
      this.requests.inc({ provider: this.name, outcome });
      this.duration.observe({ provider: this.name }, (performance.now() - started) / 1000);
    }
  }
}

/**
 * `/ready` of the worker, for the web search engines: a warning naming each engine whose last
 * search failed. Researches go on without it (the corpus and the other engines), so it never
 * makes the worker unready.
 */
@Injectable()
export class WebSearchReadinessCheck extends ReadinessCheck {
  readonly name = 'web_search';
  override readonly optional = true;

  constructor(@Inject(WEB_SEARCH_PROVIDERS) private readonly providers: ObservedWebSearchProvider[]) {
    super();
  }

  async check(): Promise<void> {
    const failing = this.providers.filter((provider) => provider.lastFailure);
    if (failing.length > 0) {
      throw new Error(
        failing
          .map(
            ({ name, lastFailure }) =>
              `${name}: last search failed at ${lastFailure!.at.toISOString()} (${lastFailure!.message})`,
          )
          .join('; '),
      );
    }
  }
}

import { AppConfig } from '@app/config';
import { Metric } from '@app/observability';
import { Module } from '@nestjs/common';
import { getToken } from '@willsoto/nestjs-prometheus';
import { Counter, Histogram } from 'prom-client';
import { SafeFetcher } from './fetch/safe-fetcher';

/**
 * The guarded fetcher, configured from `FETCH_*`, counted in `web_fetches_total` by outcome and
 * timed in `web_fetch_duration_seconds`. Needs the worker's metrics (MetricsModule).
 */
@Module({
  providers: [
    {
      provide: SafeFetcher,
      inject: [AppConfig, getToken(Metric.WebFetches), getToken(Metric.WebFetchDuration)],
      useFactory: (config: AppConfig, fetches: Counter<string>, duration: Histogram<string>) =>
        new SafeFetcher(config.fetch, undefined, (outcome, seconds) => {
          fetches.inc({ outcome });
          duration.observe(seconds);
        }),
    },
  ],
  exports: [SafeFetcher],
})
export class WebFetchModule {}

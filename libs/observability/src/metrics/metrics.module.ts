import { DynamicModule, Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { API_METRICS, WORKER_METRICS } from './metric-definitions';
import { MetricsController } from './metrics.controller';
import { RequestMetrics } from './request-metrics';
import { RequestMetricsHooks } from './request-metrics.hooks';

/**
 * `/metrics` for a process: Node's default metrics labelled with the service, plus the metrics
 * of that service, injectable with `@InjectMetric(name)`. The api's request metrics are recorded
 * by `MetricsInterceptor`, which the api registers with its other global interceptors, and by
 * `RequestMetricsHooks` for the requests that reach no handler.
 */
@Global()
@Module({})
export class MetricsModule {
  static forApp(service: 'api' | 'worker'): DynamicModule {
    const metrics = service === 'api' ? API_METRICS : WORKER_METRICS;
    return {
      module: MetricsModule,
      imports: [
        PrometheusModule.register({
          path: '/metrics',
          controller: MetricsController,
          defaultMetrics: { enabled: true },
          defaultLabels: { service },
        }),
      ],
      providers: [...metrics, ...(service === 'api' ? [RequestMetrics, RequestMetricsHooks] : [])],
      exports: [...metrics, ...(service === 'api' ? [RequestMetrics] : [])],
    };
  }
}

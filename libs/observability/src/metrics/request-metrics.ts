import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram } from 'prom-client';
import { Metric } from './metric-definitions';

/** Where a request stands with the request metrics, kept on the request under `METRICS_STATE`. */
export const MetricsState = {
  /** The onRequest hook has not run: an earlier hook refused the request. */
  Unseen: 0,
  /** A probe or a scrape: not counted. */
  Quiet: 1,
  /** Counted in flight; recorded by the hook for requests that reach no handler. */
  InFlight: 2,
  /** Reached a handler: recorded by the metrics interceptor. */
  Claimed: 3,
} as const;
export type MetricsState = (typeof MetricsState)[keyof typeof MetricsState];

export const METRICS_STATE = Symbol('metricsState');
export type MeteredRequest = FastifyRequest & { [METRICS_STATE]: MetricsState };

const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * The api's HTTP request metrics: `research_requests_total`, `research_request_duration_seconds`
 * and `research_active_requests`. Every request is recorded once, when its reply is finished, by
 * the metrics interceptor or, when it reached no handler, by the request metrics hooks.
 */
@Injectable()
export class RequestMetrics {
  /** Endpoint labels by route template; bounded by the routes the app has. */
  private readonly endpoints = new Map<string, string>();

  constructor(
    @InjectMetric(Metric.Requests) private readonly requests: Counter<string>,
    @InjectMetric(Metric.RequestDuration) private readonly duration: Histogram<string>,
    @InjectMetric(Metric.ActiveRequests) readonly active: Gauge<string>,
  ) {}

  record(request: FastifyRequest, reply: FastifyReply): void {
    const { method } = request;
    const endpoint = this.endpointOf(request);
    const statusCode = reply.statusCode;
    this.requests.inc({
      method,
      endpoint,
      status: statusCode < 400 ? 'success' : 'error',
      code: STATUS_CLASSES[Math.floor(statusCode / 100)] ?? `${Math.floor(statusCode / 100)}xx`,
    });
    if (!(request.routeOptions.config as { metricsStream?: boolean } | undefined)?.metricsStream) {
      this.duration.observe({ method, endpoint }, reply.elapsedTime / 1000);
    }
  }

  /** The endpoint label: the `@TrackRequest` name, else the route template, else `unmatched`. */
  private endpointOf(request: FastifyRequest): string {
    const { config, url } = request.routeOptions;
    const named = (config as { metricsEndpoint?: string } | undefined)?.metricsEndpoint;
    if (named) return named;
    if (!url) return 'unmatched';
    let endpoint = this.endpoints.get(url);
    if (endpoint === undefined) {
      endpoint = url.replace(/:(\w+)/g, '{$1}');
      this.endpoints.set(url, endpoint);
    }
    return endpoint;
  }
}

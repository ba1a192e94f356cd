import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram } from 'prom-client';
import { QUIET_PATHS } from '../logging/logger-params';
import { Metric } from './metric-definitions';

const started = Symbol('metricsStarted');

/**
 * Counts and times every HTTP request of the api, on Fastify's hooks rather than in a Nest
 * interceptor: requests refused before routing (malformed JSON, 413, 415, unknown routes) are
 * errors users see, and an interceptor never runs for them. Probes and scrapes are not counted.
 */
@Injectable()
export class RequestMetricsHooks implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @InjectMetric(Metric.Requests) private readonly requests: Counter<string>,
    @InjectMetric(Metric.RequestDuration) private readonly duration: Histogram<string>,
    @InjectMetric(Metric.ActiveRequests) private readonly active: Gauge<string>,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
      if (!QUIET_PATHS.has(request.url.split('?')[0] ?? '')) {
        (request as FastifyRequest & { [started]?: boolean })[started] = true;
        this.active.inc();
      }
      done();
    });
    fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      if ((request as FastifyRequest & { [started]?: boolean })[started]) {
        this.active.dec();
        const endpoint = endpointOf(request);
        const statusCode = reply.statusCode;
        this.requests.inc({
          method: request.method,
          endpoint,
          status: statusCode < 400 ? 'success' : 'error',
          code: `${Math.floor(statusCode / 100)}xx`,
        });
        this.duration.observe({ method: request.method, endpoint }, reply.elapsedTime / 1000);
      }
      done();
    });
  }
}

/** The endpoint label: the `@TrackRequest` name, else the route template, else `unmatched`. */
function endpointOf(request: FastifyRequest): string {
  const config = request.routeOptions.config as { metricsEndpoint?: string } | undefined;
  if (config?.metricsEndpoint) return config.metricsEndpoint;
  const template = request.routeOptions.url;
  return template ? template.replace(/:(\w+)/g, '{$1}') : 'unmatched';
}

import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { QUIET_PATHS } from '../logging/logger-params';
import { pathOf } from '../logging/request-log';
import { METRICS_STATE, MeteredRequest, MetricsState, RequestMetrics } from './request-metrics';

/**
 * The part of the request metrics that needs Fastify's own hooks. A request is in flight from
 * its arrival to the end of its reply, which an interceptor does not see: it runs only once the
 * body is read and the guards have let the request through. And requests that reach no handler
 * (unknown routes, malformed JSON, 413, 415, 408, refused by a guard) are errors users see, for
 * which no interceptor runs: they are recorded here, and only they. Probes and scrapes are not
 * counted.
 */
@Injectable()
export class RequestMetricsHooks implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: RequestMetrics,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.decorateRequest(METRICS_STATE, MetricsState.Unseen);
    fastify.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
      if (QUIET_PATHS.has(pathOf(request.url))) {
        (request as MeteredRequest)[METRICS_STATE] = MetricsState.Quiet;
      } else {
        (request as MeteredRequest)[METRICS_STATE] = MetricsState.InFlight;
        this.metrics.active.inc();
      }
      done();
    });
    fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const state = (request as MeteredRequest)[METRICS_STATE];
      if (state === MetricsState.InFlight || state === MetricsState.Claimed) this.metrics.active.dec();
      if (state === MetricsState.InFlight) {
        this.metrics.record(request, reply);
      } else if (state === MetricsState.Unseen && !QUIET_PATHS.has(pathOf(request.url))) {
        // Refused by an onRequest hook that runs before ours (an HTTP/1.1 request without Host).
        this.metrics.record(request, reply);
      }
      done();
    });
  }
}

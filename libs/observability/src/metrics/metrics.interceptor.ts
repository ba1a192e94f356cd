import { CallHandler, ExecutionContext, Injectable, NestInterceptor, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { METRICS_STATE, MeteredRequest, MetricsState, RequestMetrics } from './request-metrics';

/**
 * Records the request metrics of every request that reaches a handler.
 *
 * It records once the reply is finished (Fastify's onResponse), not when the handler's
 * observable settles: a handler that throws reaches the exception filter only after every
 * interceptor has seen the error, so the status an interceptor could read then is not yet the
 * one sent. Mapping the error with the filter's table would guess the same status twice, and
 * guess wrong for anything that answers after the interceptors (a filter of a controller,
 * serialisation, an onSend hook). The reply's own status, read when it is sent, cannot be wrong,
 * and its elapsed time covers the whole request as the requests that reach no handler do.
 *
 * So `intercept` only notes the request, with no operator on the handler's observable and no
 * closure per request.
 */
@Injectable()
export class MetricsInterceptor implements NestInterceptor, OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: RequestMetrics,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<MeteredRequest>();
      if (request[METRICS_STATE] === MetricsState.InFlight) request[METRICS_STATE] = MetricsState.Claimed;
    }
    return next.handle();
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      if ((request as MeteredRequest)[METRICS_STATE] === MetricsState.Claimed) this.metrics.record(request, reply);
      done();
    });
  }
}

import { CallHandler, ExecutionContext, Injectable, NestInterceptor, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { storage } from 'nestjs-pino/storage';
import { Observable } from 'rxjs';
import { LoggedRequest, REQUEST_LOGGER, RequestLogContext, logRequestCompleted } from './request-log';

/**
 * Writes the "request completed" line of every request that reaches a handler, once its reply is
 * finished: only then are the status (the exception filter answers after the interceptors have
 * seen an error) and the duration final. See MetricsInterceptor.
 *
 * `intercept` keeps the request's log context on the request: the line is written with its
 * logger, bound to the request id, whatever the order in which the onResponse hooks run, and the
 * one that ends the request's log context may run first.
 */
@Injectable()
export class LoggingInterceptor implements NestInterceptor, OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<LoggedRequest>();
      const store = storage.getStore();
      request[REQUEST_LOGGER] = store instanceof RequestLogContext ? store : new RequestLogContext(String(request.id));
    }
    return next.handle();
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const context = (request as LoggedRequest)[REQUEST_LOGGER];
      if (context) logRequestCompleted(context, request, reply);
      done();
    });
  }
}

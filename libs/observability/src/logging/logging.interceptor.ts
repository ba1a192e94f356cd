import { CallHandler, ExecutionContext, Injectable, NestInterceptor, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { storage } from 'nestjs-pino/storage';
import { Observable } from 'rxjs';
import { LoggedRequest, REQUEST_LOGGER, logRequestCompleted } from './request-log';

/**
 * Writes the "request completed" line of every request that reaches a handler, once its reply is
 * finished: only then are the status (the exception filter answers after the interceptors have
 * seen an error) and the duration final. See MetricsInterceptor.
 *
 * `intercept` keeps the request's logger, bound to its request id, on the request: the line is
 * written with it whatever the order in which the onResponse hooks run, and the one that ends
 * the request's log context may run first.
 */
@Injectable()
export class LoggingInterceptor implements NestInterceptor, OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<LoggedRequest>();
      request[REQUEST_LOGGER] = storage.getStore()?.logger ?? PinoLogger.root.child({ request_id: request.id });
    }
    return next.handle();
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const logger = (request as LoggedRequest)[REQUEST_LOGGER];
      if (logger) logRequestCompleted(logger, request, reply);
      done();
    });
  }
}

import { ApiKeyService, ForbiddenError, Scope, UnauthorizedError, allows } from '@app/auth';
import { DomainError } from '@app/common';
import { replyWithError } from '@app/http';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { QUEUE_DASHBOARD_PATH } from './queue-dashboard.constants';

/**
 * Bull Board is a Fastify plugin, outside Nest's guards: this hook lets only `admin` keys in.
 * It shows job data and can retry or remove jobs, so it is never anonymous, even in development.
 */
@Injectable()
export class QueueDashboardGuard implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly keys: ApiKeyService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?')[0] ?? '';
      if (path !== QUEUE_DASHBOARD_PATH && !path.startsWith(`${QUEUE_DASHBOARD_PATH}/`)) return;
      try {
        const presented = keyOf(request);
        if (presented === undefined) {
          throw new UnauthorizedError('the queue dashboard needs an API key with the admin scope');
        }
        const principal = await this.keys.authenticate(presented);
        if (!allows(principal, [Scope.Admin])) throw new ForbiddenError([Scope.Admin], [...principal.scopes]);
      } catch (error) {
        // Bull Board's own error handler would answer in a shape of its own.
        if (!(error instanceof DomainError)) throw error;
        return replyWithError(request, reply, error);
      }
    });
  }
}

function keyOf(request: FastifyRequest): string | undefined {
  const bearer = /^Bearer[ ]+(\S+)[ ]*$/i.exec(request.headers.authorization ?? '')?.[1];
  const header = request.headers['x-api-key'];
  return bearer ?? (typeof header === 'string' ? header.trim() : undefined);
}

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
 * Besides the api's headers it takes the key as the password of HTTP Basic authentication, so
 * that a browser asks for it and sends it with every page and script of the dashboard.
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
        if (error instanceof UnauthorizedError) void reply.header('www-authenticate', BASIC_CHALLENGE);
        return replyWithError(request, reply, error);
      }
    });
  }
}

const BASIC_CHALLENGE = 'Basic realm="queue dashboard: any user name, an admin API key as the password"';

function keyOf(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization ?? '';
  const bearer = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization)?.[1];
  if (bearer) return bearer;
  const basic = /^Basic[ ]+([A-Za-z0-9+/=]+)[ ]*$/i.exec(authorization)?.[1];
  if (basic) {
    const credentials = Buffer.from(basic, 'base64').toString('utf8');
    const colon = credentials.indexOf(':');
    return colon === -1 ? undefined : credentials.slice(colon + 1);
  }
  const header = request.headers['x-api-key'];
  return typeof header === 'string' ? header.trim() : undefined;
}

import { PUBLIC_ROUTE } from '@app/common';
import { AppConfig } from '@app/config';
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { REQUIRED_SCOPES } from './auth.decorators';
import { ForbiddenError, UnauthorizedError } from './auth.errors';
import { ApiKeyService } from './api-key.service';
import { Principal, allows } from './principal';
import { Scope } from './scopes';

const PUBLIC = Symbol('public');

/**
 * Who may call a route: public routes are open; every other route names its scopes, and the
 * caller's key (`Authorization: Bearer <key>` or `X-API-Key`) must grant them. Without a key,
 * a call is refused when keys are required, else it acts as the default tenant.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly routes = new WeakMap<object, Scope[] | typeof PUBLIC | undefined>();

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scopes = this.scopesOf(context);
    if (scopes === PUBLIC) return true;
    if (!scopes) {
      // Closed by default: a route that forgot to say who may call it is nobody's.
      throw new Error(`${context.getClass().name}.${context.getHandler().name} declares no scopes and is not public`);
    }
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    const principal = await this.principalOf(request);
    request.principal = principal;
    if (!allows(principal, scopes)) throw new ForbiddenError(scopes, [...principal.scopes]);
    return true;
  }

  /** What a handler requires, looked up once per handler: its metadata does not change. */
  private scopesOf(context: ExecutionContext): Scope[] | typeof PUBLIC | undefined {
    const handler = context.getHandler();
    if (this.routes.has(handler)) return this.routes.get(handler);
    const targets = [handler, context.getClass()];
    const required = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)
      ? PUBLIC
      : this.reflector.getAllAndOverride<Scope[] | undefined>(REQUIRED_SCOPES, targets);
    this.routes.set(handler, required);
    return required;
  }

  private async principalOf(request: FastifyRequest): Promise<Principal> {
    const presented = presentedKey(request);
    if (presented !== undefined) return this.keys.authenticate(presented);
    if (!this.config.auth.required) return this.keys.anonymous;
    throw new UnauthorizedError('an API key is required: send it as Authorization: Bearer <key> or X-API-Key: <key>');
  }
}

/** The key a request presents: the Bearer token, else X-API-Key; undefined when it presents none. */
function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
    if (!match) throw new UnauthorizedError('the Authorization header must be "Bearer <key>"');
    return match[1];
  }
  const header = request.headers['x-api-key'];
  if (header === undefined) return undefined;
  if (typeof header !== 'string') throw new UnauthorizedError('send one X-API-Key header');
  return header.trim();
}

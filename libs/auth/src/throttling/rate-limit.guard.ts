import { DomainError, ErrorCode, PUBLIC_ROUTE } from '@app/common';
import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail, ThrottlerOptions } from '@nestjs/throttler';
import { FastifyReply } from 'fastify';
import { Principal } from '../principal';

export class RateLimitedError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super(ErrorCode.RateLimited, `too many requests; try again in ${retryAfterSeconds} s`, {
      retry_after_seconds: retryAfterSeconds,
    });
  }
}

/**
 * Rate limits per key, or per client IP for a call without one, over all routes together
 * (reads and writes each have their own count). Runs after the auth guard, which has named the
 * caller. Probes and metrics are never limited.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  /** Whether each handler is public, looked up once: its metadata does not change. */
  private readonly publicHandlers = new WeakMap<object, boolean>();

  /**
   * The configured throttler of the request's kind (`reads` for GET and HEAD, `writes` for the
   * rest), counted by `handleRequest` as ThrottlerGuard counts. ThrottlerGuard's own loop looks up
   * ten metadata keys per throttler on every request, for per-route overrides this api does not use.
   */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (await this.shouldSkip(context)) return true;
    const method = context.switchToHttp().getRequest<{ method: string }>().method;
    const name = method === 'GET' || method === 'HEAD' ? 'reads' : 'writes';
    const throttler = this.throttlers.find((candidate) => candidate.name === name);
    if (!throttler || throttler.skipIf?.(context)) return true;
    return this.handleRequest({
      context,
      limit: throttler.limit as number,
      ttl: throttler.ttl as number,
      throttler: throttler as ThrottlerOptions,
      blockDuration: (throttler.blockDuration as number | undefined) ?? (throttler.ttl as number),
      getTracker: this.commonOptions.getTracker!,
      generateKey: this.commonOptions.generateKey!,
    });
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const principal = request.principal as Principal | undefined;
    return principal?.keyId ? `key:${principal.keyId}` : `ip:${String(request.ip)}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttler: string): string {
    return `${throttler}:${tracker}`;
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const handler = context.getHandler();
    let isPublic = this.publicHandlers.get(handler);
    if (isPublic === undefined) {
      isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [handler, context.getClass()]) ?? false;
      this.publicHandlers.set(handler, isPublic);
    }
    return isPublic;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    void context.switchToHttp().getResponse<FastifyReply>().header('retry-after', String(retryAfter));
    throw new RateLimitedError(retryAfter);
  }
}

import { DomainError, ErrorCode, PUBLIC_ROUTE } from '@app/common';
import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
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
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const principal = request.principal as Principal | undefined;
    return principal?.keyId ? `key:${principal.keyId}` : `ip:${String(request.ip)}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttler: string): string {
    return `${throttler}:${tracker}`;
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()]) ?? false;
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

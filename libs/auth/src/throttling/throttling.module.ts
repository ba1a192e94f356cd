import { AppConfig } from '@app/config';
import { ExecutionContext, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { FastifyRequest } from 'fastify';
import { RateLimitGuard } from './rate-limit.guard';
import { SharedRateLimitStorage } from './shared-rate-limit.storage';

const isRead = (context: ExecutionContext): boolean => {
  const method = context.switchToHttp().getRequest<FastifyRequest>().method;
  return method === 'GET' || method === 'HEAD';
};

/** Rate limits from configuration, shared through Redis; the api binds RateLimitGuard after the auth guard. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const { enabled, windowMs, reads, writes, syncMs } = config.rateLimit;
        return {
          throttlers: [
            { name: 'reads', ttl: windowMs, limit: reads, skipIf: (context) => !enabled || !isRead(context) },
            { name: 'writes', ttl: windowMs, limit: writes, skipIf: (context) => !enabled || isRead(context) },
          ],
          // Retry-After is set on a 429 only; the X-RateLimit-* headers of every answer are left out.
          setHeaders: false,
          storage: new SharedRateLimitStorage(
            config.redisUrl,
            {
              keyPrefix: `${config.queuePrefix}:rate-limit:`,
              connectionName: 'rate-limit',
              // Fail fast while Redis is away, rather than queue every request's count.
              enableOfflineQueue: false,
              maxRetriesPerRequest: 1,
            },
            syncMs,
          ),
        };
      },
    }),
  ],
  providers: [RateLimitGuard],
  exports: [RateLimitGuard],
})
export class ThrottlingModule {}

import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Logger } from '@nestjs/common';
import { RedisOptions } from 'ioredis';
import { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';

const REDIS_TIMEOUT_MS = 200;
const ALLOWED: ThrottlerStorageRecord = { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };

/**
 * Counts in Redis, so that limits hold across api replicas. When Redis does not answer in
 * time, the request is let through: a Redis outage must not take the api down with it.
 */
export class ResilientThrottlerStorage extends ThrottlerStorageRedisService {
  private readonly logger = new Logger('RateLimit');
  private lastWarning = 0;

  constructor(url: string, options: RedisOptions) {
    super(url, options);
    // Unhandled, ioredis would print every reconnection error on stderr.
    this.redis.on('error', (error: Error) => this.warn(`rate-limit redis: ${error.message}`));
  }

  override async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        super.increment(key, ttl, limit, blockDuration, throttlerName),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      this.warn(`rate limits not counted, requests let through: ${(error as Error).message}`);
      return ALLOWED;
    } finally {
      clearTimeout(timer);
    }
  }

  /** At most one line every 10 s: an outage must not flood the log. */
  private warn(message: string): void {
    if (Date.now() - this.lastWarning < 10_000) return;
    this.lastWarning = Date.now();
    this.logger.warn(message);
  }
}

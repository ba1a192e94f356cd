import { randomUUID } from 'node:crypto';
import { Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { sleep, untilAborted } from '@app/common';

export interface EndpointSemaphoreOptions {
  /** The sorted set of leases: token → expiry in Redis server time (ms). */
  key: string;
  limit: number;
  /** A lease not renewed for this long is dropped: how long a crashed holder keeps its slot. */
  leaseMs: number;
}

/** Long enough to ride out a stalled event loop or a Redis failover, short enough for a crash. */
export const DEFAULT_LEASE_MS = 15_000;
const FIRST_POLL_MS = 20;
const LAST_POLL_MS = 250;

/**
 * Drops expired leases, then admits the token if fewer than the limit remain. Redis' clock
 * dates every lease, so the workers' clocks do not need to agree.
 */
const ACQUIRE = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], nowMs + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** Extends a lease that is still held; 0 when it has already expired (and may be someone else's slot now). */
const RENEW = `
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], nowMs + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

interface SemaphoreCommands {
  llmSlotAcquire(key: string, limit: number, leaseMs: number, token: string): Promise<number>;
  llmSlotRenew(key: string, leaseMs: number, token: string): Promise<number>;
}

/**
 * A counting semaphore in Redis, shared by every worker process calling one LLM endpoint. Each
 * holder has a lease that it renews while it holds the slot; a holder that crashes stops renewing
 * and its slot frees when the lease expires.
 */
export class EndpointSemaphore implements OnModuleDestroy {
  private readonly logger = new Logger(EndpointSemaphore.name);
  private readonly redis: Redis & SemaphoreCommands;
  private readonly renewals = new Map<string, NodeJS.Timeout>();

  constructor(
    redis: Redis,
    private readonly options: EndpointSemaphoreOptions,
  ) {
    redis.defineCommand('llmSlotAcquire', { numberOfKeys: 1, lua: ACQUIRE });
    redis.defineCommand('llmSlotRenew', { numberOfKeys: 1, lua: RENEW });
    this.redis = redis as Redis & SemaphoreCommands;
  }

  /** Waits for a slot and returns its token, for `release`; rejects with the signal's reason when it aborts. */
  async acquire(signal?: AbortSignal): Promise<string> {
    const token = randomUUID();
    for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, LAST_POLL_MS)) {
      const attempt = this.redis.llmSlotAcquire(this.options.key, this.options.limit, this.options.leaseMs, token);
      const admitted = await untilAborted(attempt, signal, (outcome) => {
        // Admitted after all, but for nobody: give the slot back at once.
        outcome.then((late) => (late === 1 ? this.release(token) : undefined)).catch(() => undefined);
      });
      if (admitted === 1) {
        this.renewWhileHeld(token);
        return token;
      }
      // Jittered, so that waiting workers do not poll in step.
      await sleep(pause / 2 + Math.random() * (pause / 2), signal);
    }
  }

  /** Frees a slot. Never throws: a slot that cannot be released now frees when its lease expires. */
  async release(token: string): Promise<void> {
    clearInterval(this.renewals.get(token));
    this.renewals.delete(token);
    try {
      await this.redis.zrem(this.options.key, token);
    } catch (error) {
      this.logger.warn(`LLM slot not released (${(error as Error).message}); it frees when its lease expires`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.renewals.keys()].map((token) => this.release(token)));
  }

  private renewWhileHeld(token: string): void {
    const timer = setInterval(() => {
      this.redis.llmSlotRenew(this.options.key, this.options.leaseMs, token).then(
        (renewed) => {
          if (renewed === 1 || !this.renewals.has(token)) return;
          clearInterval(timer);
          this.renewals.delete(token);
          this.logger.warn(
            'LLM slot lease expired before its call ended; the endpoint may briefly see one call too many',
          );
        },
        (error: Error) => this.logger.warn(`LLM slot lease not renewed: ${error.message}`),
      );
    }, this.options.leaseMs / 3);
    timer.unref();
    this.renewals.set(token, timer);
  }
}

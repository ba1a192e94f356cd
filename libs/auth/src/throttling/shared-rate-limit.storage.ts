import { EarliestTimer } from '@app/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Logger, OnModuleDestroy } from '@nestjs/common';
import { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { RedisOptions } from 'ioredis';

const REDIS_TIMEOUT_MS = 200;

/**
 * Adds `hits` to a window's count; the same keys and the same rules as the storage's own script
 * (a window starts at its first hit and lasts `ttl`; past the limit the key is blocked for
 * `blockDuration`), so that replicas of different versions count together during a rollout.
 * Answers the window's total, its time left and the block's time left (0 when not blocked), in ms.
 */
const ADD_HITS = `
local total = redis.call('INCRBY', KEYS[1], tonumber(ARGV[1]))
local expires = redis.call('PTTL', KEYS[1])
if expires <= 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  expires = tonumber(ARGV[2])
end
local blocked = redis.call('PTTL', KEYS[2])
if blocked <= 0 then
  blocked = 0
  if total > tonumber(ARGV[3]) then
    redis.call('SET', KEYS[2], 1, 'PX', ARGV[4])
    blocked = tonumber(ARGV[4])
  end
end
return { total, expires, blocked }`;

interface Window {
  hitKey: string;
  blockKey: string;
  ttl: number;
  limit: number;
  blockDuration: number;
  /** Local clock time when the window ends, as Redis last said. */
  endsAt: number;
  /** The window's total in Redis as of the last answer: every replica's hits. */
  known: number;
  /** Hits on their way to Redis. */
  sending: number;
  /** Hits counted here and not sent yet. */
  unsent: number;
  blockedUntil: number;
  /** Set while the window's first hit is being counted in Redis: the hits behind it wait for it. */
  opening?: Promise<void>;
}

type AddHits = (
  hitKey: string,
  blockKey: string,
  hits: number,
  ttl: number,
  limit: number,
  blockDuration: number,
) => Promise<[number, number, number]>;

/**
 * Rate-limit counts shared by every api replica through Redis, without a Redis round trip on
 * each request. The first hit of a key's window is counted in Redis before it is answered, which
 * also learns what the other replicas have counted and whether the key is blocked. The hits after
 * it are decided here, against that total plus this replica's own hits, and sent to Redis together
 * every `syncMs` (at once when a hit crosses the limit, so that the block reaches the others).
 *
 * What the replicas let through together exceeds a limit by at most the hits the other replicas
 * counted in the last `syncMs` before they heard of the block. When Redis does not answer (200 ms),
 * hits are counted here only: each replica then holds the limit on its own, and a Redis outage
 * never refuses or delays a request.
 */
export class SharedRateLimitStorage extends ThrottlerStorageRedisService implements OnModuleDestroy {
  private readonly logger = new Logger('RateLimit');
  private readonly windows = new Map<string, Window>();
  private readonly addHits: AddHits;
  private readonly timer = new EarliestTimer(() => {
    void this.flush().then(() => {
      // Counts Redis did not take are tried again, at the same pace.
      if (this.hasUnsent()) this.timer.within(this.syncMs);
    });
  });
  private flushing: Promise<void> | undefined;
  private lastWarning = 0;

  constructor(
    url: string,
    options: RedisOptions,
    private readonly syncMs: number,
  ) {
    // Commands sent in the same tick leave in one write.
    super(url, { ...options, enableAutoPipelining: true });
    // Unhandled, ioredis would print every reconnection error on stderr.
    this.redis.on('error', (error: Error) => this.warn(`rate-limit redis: ${error.message}`));
    // EVALSHA: the script's text crosses the wire once, not with every count.
    this.redis.defineCommand('rateLimitAddHits', { numberOfKeys: 2, lua: ADD_HITS });
    this.addHits = (this.redis as unknown as { rateLimitAddHits: AddHits }).rateLimitAddHits.bind(this.redis);
  }

  override async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const id = `{${key}:${throttlerName}}`;
    let window = this.windows.get(id);
    if (window?.opening) {
      await window.opening;
    } else if (!window || isOver(window, Date.now())) {
      window = {
        hitKey: `${id}:hits`,
        blockKey: `${id}:blocked`,
        ttl,
        limit,
        blockDuration,
        endsAt: 0,
        known: 0,
        sending: 0,
        unsent: 0,
        blockedUntil: 0,
      };
      this.windows.set(id, window);
      const opened = window;
      opened.opening = this.send(opened, 1).finally(() => (opened.opening = undefined));
      await opened.opening;
      this.timer.within(this.syncMs);
      return recordOf(opened, Date.now());
    }
    return this.count(window, Date.now());
  }

  override onModuleDestroy(): void {
    void this.close();
  }

  /** Sends what is left, then closes the connection. */
  async close(): Promise<void> {
    this.timer.cancel();
    await this.flush().catch(() => undefined);
    super.onModuleDestroy();
  }

  /** Sends every count not sent yet, and forgets the windows that are over. */
  flush(): Promise<void> {
    this.flushing ??= this.sendAll().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private count(window: Window, now: number): ThrottlerStorageRecord {
    if (window.blockedUntil > now) return recordOf(window, now);
    window.unsent += 1;
    if (totalOf(window) > window.limit) {
      window.blockedUntil = now + window.blockDuration;
      this.timer.within(0);
    } else {
      this.timer.within(this.syncMs);
    }
    return recordOf(window, now);
  }

  private async sendAll(): Promise<void> {
    const now = Date.now();
    const sends: Promise<void>[] = [];
    for (const [id, window] of this.windows) {
      if (window.opening) continue;
      if (window.unsent > 0) {
        const hits = window.unsent;
        window.unsent = 0;
        sends.push(this.send(window, hits));
      } else if (window.sending === 0 && isOver(window, now)) {
        this.windows.delete(id);
      }
    }
    await Promise.all(sends);
  }

  private async send(window: Window, hits: number): Promise<void> {
    window.sending += hits;
    const sentAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const [total, expiresMs, blockedMs] = await Promise.race([
        this.addHits(window.hitKey, window.blockKey, hits, window.ttl, window.limit, window.blockDuration),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
        }),
      ]);
      window.known = total;
      window.endsAt = sentAt + expiresMs;
      if (blockedMs > 0) window.blockedUntil = Math.max(window.blockedUntil, sentAt + blockedMs);
    } catch (error) {
      this.warn(`rate limits counted by this replica alone: ${(error as Error).message}`);
      // Still counted here, and sent again with the next batch while the window lasts.
      window.unsent += hits;
      if (window.endsAt <= sentAt) window.endsAt = sentAt + window.ttl;
    } finally {
      clearTimeout(timer);
      window.sending -= hits;
    }
  }

  private hasUnsent(): boolean {
    for (const window of this.windows.values()) if (window.unsent > 0) return true;
    return false;
  }

  /** At most one line every 10 s: an outage must not flood the log. */
  private warn(message: string): void {
    if (Date.now() - this.lastWarning < 10_000) return;
    this.lastWarning = Date.now();
    this.logger.warn(message);
  }
}

function totalOf(window: Window): number {
  return window.known + window.sending + window.unsent;
}

function isOver(window: Window, now: number): boolean {
  return window.endsAt <= now && window.blockedUntil <= now;
}

function recordOf(window: Window, now: number): ThrottlerStorageRecord {
  const isBlocked = window.blockedUntil > now;
  return {
    totalHits: totalOf(window),
    timeToExpire: Math.max(0, Math.ceil((window.endsAt - now) / 1000)),
    isBlocked,
    timeToBlockExpire: isBlocked ? Math.ceil((window.blockedUntil - now) / 1000) : 0,
  };
}

import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { LlmCircuitSettings } from '@app/config';

/**
 * - `closed`: calls go through.
 * - `open`: the endpoint failed too often in a row; calls are refused at once, work is held.
 * - `half_open`: the cooldown is over; one worker probes the endpoint, work is still held.
 * - `exhausted`: the outage outlasted `outageMaxMs`; calls go through again and fail on their
 *   own, so researches end with a readable reason instead of waiting for ever.
 */
export type CircuitState = 'closed' | 'open' | 'half_open' | 'exhausted';

export interface CircuitView {
  state: CircuitState;
  /** Failed calls in a row, across every worker. */
  failures: number;
  /** When the current outage began (the circuit first opened), in Redis time; null when closed. */
  openedAt: number | null;
  /** How long the current outage has lasted, in ms; 0 when closed. */
  outageMs: number;
}

/** Counts a failure; opens the circuit (or opens it again after a failed probe, for longer). */
const RECORD_FAILURE = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local openUntil = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
if failures >= tonumber(ARGV[1]) and openUntil <= nowMs then
  local cooldown = tonumber(redis.call('HGET', KEYS[1], 'cooldown') or '0')
  if cooldown == 0 then cooldown = tonumber(ARGV[2]) else cooldown = math.min(cooldown * 2, tonumber(ARGV[3])) end
  redis.call('HSET', KEYS[1], 'open_until', nowMs + cooldown, 'cooldown', cooldown)
  redis.call('HSETNX', KEYS[1], 'opened_at', nowMs)
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return { failures, tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0'), tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0'), nowMs }
`;

const RELEASE_PROBE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const READ = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local values = redis.call('HMGET', KEYS[1], 'failures', 'open_until', 'opened_at')
return { tonumber(values[1] or '0'), tonumber(values[2] or '0'), tonumber(values[3] or '0'), nowMs }
`;

interface CircuitCommands {
  llmCircuitFailure(
    key: string,
    threshold: number,
    cooldownMs: number,
    maxCooldownMs: number,
    ttlMs: number,
  ): Promise<number[]>;
  llmCircuitRead(key: string): Promise<number[]>;
  llmCircuitReleaseProbe(key: string, owner: string): Promise<number>;
}

const CLOSED: CircuitView = { state: 'closed', failures: 0, openedAt: null, outageMs: 0 };

/**
 * The circuit breaker of one LLM endpoint, kept in Redis so that every worker sees the same
 * outage. Each process holds a view of it, refreshed by its own calls and by `refresh()`;
 * listeners hear every change of state. Redis trouble never fails a call: the view stays as it
 * was until Redis answers again.
 */
export class LlmCircuit {
  private readonly logger = new Logger('LlmCircuit');
  private readonly redis: Redis & CircuitCommands;
  private readonly listeners = new Set<(view: CircuitView) => void>();
  private current: CircuitView = CLOSED;

  constructor(
    redis: Redis,
    readonly endpoint: string,
    private readonly key: string,
    private readonly settings: LlmCircuitSettings,
  ) {
    redis.defineCommand('llmCircuitFailure', { numberOfKeys: 1, lua: RECORD_FAILURE });
    redis.defineCommand('llmCircuitRead', { numberOfKeys: 1, lua: READ });
    redis.defineCommand('llmCircuitReleaseProbe', { numberOfKeys: 1, lua: RELEASE_PROBE });
    this.redis = redis as Redis & CircuitCommands;
  }

  get view(): CircuitView {
    return this.current;
  }

  /** Whether LLM calls may be made now: not while the endpoint is held to be down. */
  allowsCalls(): boolean {
    return this.current.state === 'closed' || this.current.state === 'exhausted';
  }

  onChange(listener: (view: CircuitView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A call failed as an outage would (5xx, timeout, refused connection). */
  async recordFailure(): Promise<void> {
    const s = this.settings;
    // Long enough to outlive the outage bound, so an outage is not forgotten while it lasts.
    const ttlMs = s.outageMaxMs * 2 + s.maxCooldownMs * 2;
    await this.update(() => this.redis.llmCircuitFailure(this.key, s.failures, s.cooldownMs, s.maxCooldownMs, ttlMs));
  }

  /** A call went through: the endpoint answers, whatever state the circuit was in. */
  async recordSuccess(): Promise<void> {
    if (this.current.failures === 0 && this.current.state === 'closed') return;
    try {
      await this.redis.del(this.key);
      this.apply(CLOSED);
    } catch (error) {
      this.logger.warn(`circuit not closed in Redis (${(error as Error).message}); the next success closes it`);
    }
  }

  /** Reads the shared state, which other workers' calls change. */
  async refresh(): Promise<CircuitView> {
    await this.update(() => this.redis.llmCircuitRead(this.key));
    return this.current;
  }

  /** True for exactly one caller per `ttlMs` across every worker: the one that probes now. */
  async takeProbe(owner: string, ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.set(`${this.key}:probe`, owner, 'PX', ttlMs, 'NX')) === 'OK';
    } catch {
      return false;
    }
  }

  /** Ends this caller's probe, so the next one is not held back by its lease. */
  async releaseProbe(owner: string): Promise<void> {
    await this.redis.llmCircuitReleaseProbe(`${this.key}:probe`, owner).catch(() => undefined);
  }

  private async update(read: () => Promise<number[]>): Promise<void> {
    let values: number[];
    try {
      values = await read();
    } catch (error) {
      this.logger.warn(`circuit state not read from Redis: ${(error as Error).message}`);
      return;
    }
    const [failures = 0, openUntil = 0, openedAt = 0, now = 0] = values;
    this.apply(this.viewOf(failures, openUntil, openedAt, now));
  }

  private viewOf(failures: number, openUntil: number, openedAt: number, now: number): CircuitView {
    if (openedAt === 0) return { ...CLOSED, failures };
    const outageMs = Math.max(0, now - openedAt);
    const state: CircuitState =
      outageMs > this.settings.outageMaxMs ? 'exhausted' : openUntil > now ? 'open' : 'half_open';
    return { state, failures, openedAt, outageMs };
  }

  private apply(next: CircuitView): void {
    const previous = this.current;
    this.current = next;
    if (previous.state === next.state) return;
    const fields = { endpoint: this.endpoint, from: previous.state, to: next.state, failures: next.failures };
    if (next.state === 'closed') this.logger.log(fields, 'llm circuit closed: the endpoint answers again');
    else if (next.state === 'exhausted')
      this.logger.error(
        { ...fields, outage_seconds: Math.round(next.outageMs / 1000) },
        'llm outage outlasted LLM_OUTAGE_MAX_SECONDS: researches are no longer held for it',
      );
    else if (previous.state === 'closed') this.logger.warn(fields, 'llm circuit opened: holding research work');
    for (const listener of this.listeners) listener(next);
  }
}

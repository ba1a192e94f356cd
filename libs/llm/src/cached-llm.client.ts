import { createHash } from 'node:crypto';
import { AppConfig } from '@app/config';
import { Metric } from '@app/observability';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import Redis from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { LlmClient, StructuredRequest, StructuredResponse } from './llm-client';
import { LLM_REDIS } from './llm-redis';
import { llmSettings } from './llm-settings';
import { OpenAiLlmClient } from './openai/openai-llm.client';

const CACHE = 'llm';
/** A cache that does not answer in time is a miss, not a stall. */
const REDIS_TIMEOUT_MS = 500;

interface CachedReply {
  value: unknown;
  model: string;
}

/**
 * Answers a request identical to an earlier one (same model, messages, schema and limits) from
 * Redis, across researches and workers: re-reading the same source for the same question costs
 * nothing. A hit costs no tokens and no call in the research's ledger. Redis trouble only turns
 * hits into misses.
 */
@Injectable()
export class CachedLlmClient extends LlmClient {
  private readonly logger = new Logger('LlmCache');
  private readonly ttlSeconds: number;
  private readonly prefix: string;

  constructor(
    private readonly inner: OpenAiLlmClient,
    @Inject(LLM_REDIS) private readonly redis: Redis,
    config: AppConfig,
    @InjectMetric(Metric.CacheHits) private readonly hits: Counter<string>,
    @InjectMetric(Metric.CacheMisses) private readonly misses: Counter<string>,
    @InjectMetric(Metric.CacheSize) private readonly size: Gauge<string>,
  ) {
    super();
    this.ttlSeconds = llmSettings(config).cacheTtlSeconds;
    this.prefix = `${config.queuePrefix}:llm-cache`;
  }

  modelFor(stage: string): string {
    return this.inner.modelFor(stage);
  }

  async complete<T>(request: StructuredRequest): Promise<StructuredResponse<T>> {
    if (this.ttlSeconds === 0) return this.inner.complete<T>(request);
    const started = performance.now();
    const model = this.modelFor(request.stage);
    // Per tenant: the messages may quote a tenant's private documents.
    const key = `${this.prefix}:${request.tenantId}:${this.keyOf(model, request)}`;

    const cached = await this.bounded(this.redis.get(key));
    if (cached) {
      this.hits.inc({ cache: CACHE });
      const reply = JSON.parse(cached) as CachedReply;
      this.logger.log({ stage: request.stage, model }, 'llm cache hit');
      return {
        value: reply.value as T,
        model: reply.model,
        usage: { promptTokens: 0, completionTokens: 0 },
        calls: 0,
        repaired: false,
        costUsd: 0,
        durationMs: Math.round(performance.now() - started),
      };
    }
    this.misses.inc({ cache: CACHE });
    const response = await this.inner.complete<T>(request);
    await this.store(key, { value: response.value, model: response.model });
    return response;
  }

  private keyOf(model: string, request: StructuredRequest): string {
    return createHash('sha256')
      .update(
        JSON.stringify([
          model,
          request.schema.name,
          request.schema.schema,
          request.messages,
          request.maxTokens ?? null,
          request.temperature ?? null,
        ]),
      )
      .digest('hex');
  }

  /** Writes the reply and indexes it by expiry, so the size of the cache is one cheap count. */
  private async store(key: string, reply: CachedReply): Promise<void> {
    const index = `${this.prefix}:index`;
    const now = Date.now();
    const result = await this.bounded(
      this.redis
        .multi()
        .set(key, JSON.stringify(reply), 'EX', this.ttlSeconds)
        .zadd(index, now + this.ttlSeconds * 1000, key)
        .zremrangebyscore(index, '-inf', now)
        .zcard(index)
        .exec(),
    );
    const entries = result?.[3]?.[1];
    if (typeof entries === 'number') this.size.set({ cache: CACHE }, entries);
  }

  private async bounded<R>(work: Promise<R>): Promise<R | null> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), REDIS_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      this.logger.warn(`llm cache unavailable: ${(error as Error).message}`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}

import { createHash } from 'node:crypto';
import { AppConfig } from '@app/config';
import { ExpiringCache, Metric } from '@app/observability';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import Redis from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { LlmClient, StructuredRequest, StructuredResponse } from './llm-client';
import { LLM_REDIS } from './llm-redis';
import { llmSettings } from './llm-settings';
import { OpenAiLlmClient } from './openai/openai-llm.client';

const CACHE = 'llm';

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
  private readonly cache: ExpiringCache<CachedReply>;

  constructor(
    private readonly inner: OpenAiLlmClient,
    @Inject(LLM_REDIS) redis: Redis,
    config: AppConfig,
    @InjectMetric(Metric.CacheHits) hits: Counter<string>,
    @InjectMetric(Metric.CacheMisses) misses: Counter<string>,
    @InjectMetric(Metric.CacheSize) size: Gauge<string>,
  ) {
    super();
    this.cache = new ExpiringCache(
      redis,
      `${config.queuePrefix}:llm-cache`,
      CACHE,
      llmSettings(config).cacheTtlSeconds,
      {
        hits,
        misses,
        size,
      },
    );
  }

  modelFor(stage: string): string {
    return this.inner.modelFor(stage);
  }

  async complete<T>(request: StructuredRequest): Promise<StructuredResponse<T>> {
    if (!this.cache.enabled) return this.inner.complete<T>(request);
    const started = performance.now();
    const model = this.modelFor(request.stage);
    // Per tenant: the messages may quote a tenant's private documents.
    const key = `${request.tenantId}:${this.keyOf(model, request)}`;

    const reply = await this.cache.get(key);
    this.cache.count(reply !== null);
    if (reply) {
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
    const response = await this.inner.complete<T>(request);
    await this.cache.set(key, { value: response.value, model: response.model });
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
}

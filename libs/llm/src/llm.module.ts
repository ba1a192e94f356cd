import { AppConfig } from '@app/config';
import { Inject, Module, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { DEFAULT_LEASE_MS, EndpointSemaphore } from './endpoint-semaphore';
import { CachedLlmClient } from './cached-llm.client';
import { LlmCircuit } from './circuit/llm-circuit';
import { LlmCircuitMonitor } from './circuit/llm-circuit.monitor';
import { LlmClient } from './llm-client';
import { LLM_REDIS, createLlmRedis } from './llm-redis';
import { endpointOf, llmSettings } from './llm-settings';
import { LlmStartupCheck } from './llm-startup.check';
import { OpenAiLlmClient } from './openai/openai-llm.client';

export { LLM_REDIS };

/**
 * The LLM port bound to the OpenAI-compatible adapter. Import it only when `AppConfig.llm` is
 * set: it refuses to start without it.
 */
@Module({
  providers: [
    {
      provide: LLM_REDIS,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        llmSettings(config);
        return createLlmRedis(config.redisUrl);
      },
    },
    {
      provide: EndpointSemaphore,
      inject: [LLM_REDIS, AppConfig],
      useFactory: (redis: Redis, config: AppConfig) => {
        const settings = llmSettings(config);
        return new EndpointSemaphore(redis, {
          key: `${config.queuePrefix}:llm:${endpointOf(settings.baseUrl)}`,
          limit: settings.maxConcurrency,
          leaseMs: DEFAULT_LEASE_MS,
        });
      },
    },
    {
      provide: LlmCircuit,
      inject: [LLM_REDIS, AppConfig],
      useFactory: (redis: Redis, config: AppConfig) => {
        const settings = llmSettings(config);
        const endpoint = endpointOf(settings.baseUrl);
        return new LlmCircuit(redis, endpoint, `${config.queuePrefix}:llm-circuit:${endpoint}`, settings.circuit);
      },
    },
    LlmCircuitMonitor,
    OpenAiLlmClient,
    CachedLlmClient,
    { provide: LlmClient, useExisting: CachedLlmClient },
    LlmStartupCheck,
  ],
  exports: [LlmClient, LlmCircuit],
})
export class LlmModule implements OnModuleDestroy {
  constructor(@Inject(LLM_REDIS) private readonly redis: Redis) {}

  // Runs after the providers' own hooks, so the semaphore has released its slots by then.
  async onModuleDestroy(): Promise<void> {
    // QUIT on a connection still being set up sends ioredis into recovery; nothing is pending then anyway.
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}

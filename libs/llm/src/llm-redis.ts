import { Logger } from '@nestjs/common';
import Redis from 'ioredis';

/** The LLM lib's own Redis connection (concurrency slots, response cache, circuit), apart from Bull's. */
export const LLM_REDIS = Symbol('LLM_REDIS');

/**
 * A connection that rides out a Redis restart the way Bull's do: commands wait for the
 * reconnection instead of failing after a few retries, so a Redis blip delays LLM calls rather
 * than failing the research. Callers that must not wait bound their own commands.
 */
export function createLlmRedis(url: string): Redis {
  const logger = new Logger('LlmRedis');
  const redis = new Redis(url, {
    connectionName: 'llm',
    maxRetriesPerRequest: null,
    // Connects at the first LLM call: a process that makes none holds no connection.
    lazyConnect: true,
  });
  // Unhandled, ioredis would print every reconnection error on stderr.
  redis.on('error', (error: Error) => logger.warn(`llm redis: ${error.message}`));
  return redis;
}

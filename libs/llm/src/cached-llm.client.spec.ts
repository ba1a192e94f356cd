import { loadConfig } from '@app/config';
import { Metric, MetricsModule } from '@app/observability';
import { FakeLlmServer, TestConfigModule } from '@app/testing';
import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { register } from 'prom-client';
import { LlmClient, StructuredRequest } from './llm-client';
import { LlmModule } from './llm.module';

const schema = {
  name: 'answer',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['answer'],
    properties: { answer: { type: 'string' } },
  },
};

const request = (question: string, tenantId = 'tenant-a'): StructuredRequest => ({
  tenantId,
  stage: 'reader',
  messages: [{ role: 'user', content: question }],
  schema,
  temperature: 0,
});

async function value(name: string): Promise<number> {
  const metric = await register.getSingleMetric(name)?.get();
  return (metric?.values ?? []).filter((v) => v.labels.cache === 'llm').reduce((sum, v) => sum + v.value, 0);
}

describe('the LLM response cache', () => {
  const prefix = `cache-spec-${process.pid}-${Date.now()}`;
  let llm: FakeLlmServer;
  const modules: TestingModule[] = [];
  const redis = new Redis('redis://127.0.0.1:6379/0');

  /** A client in a module of its own; prom-client's registry is per process, so it starts afresh. */
  async function client(env: Record<string, string> = {}): Promise<LlmClient> {
    register.clear();
    const config = loadConfig({ LLM_BASE_URL: llm.baseUrl, QUEUE_PREFIX: prefix, ...env });
    const module = await Test.createTestingModule({
      imports: [TestConfigModule.with(config), MetricsModule.forApp('worker'), LlmModule],
    }).compile();
    modules.push(module);
    return module.get(LlmClient);
  }

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    llm = await FakeLlmServer.start();
    llm.respond('answer', (req) => ({ answer: `reply ${req.call}` }));
  });

  afterAll(async () => {
    for (const module of modules) await module.close();
    // Every prefix the tests use starts with `prefix`.
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await llm.stop();
    register.clear();
    jest.restoreAllMocks();
  });

  it('answers an identical request from Redis, for free', async () => {
    const first = await client();
    const answered = await first.complete<{ answer: string }>(request('What limited HBM supply?'));
    expect(answered).toMatchObject({ value: { answer: 'reply 1' }, calls: 1 });
    expect(answered.usage.promptTokens).toBeGreaterThan(0);

    // The same request again, from the same Redis, does not reach the model.
    const second = first;
    const cached = await second.complete<{ answer: string }>(request('What limited HBM supply?'));
    expect(cached).toMatchObject({
      value: { answer: 'reply 1' },
      calls: 0,
      costUsd: 0,
      usage: { promptTokens: 0, completionTokens: 0 },
    });
    expect(llm.calls).toHaveLength(1);

    // A different question is a miss.
    await second.complete(request('Who supplied HBM?'));
    expect(llm.calls).toHaveLength(2);
    expect(await value(Metric.CacheHits)).toBe(1);
    expect(await value(Metric.CacheMisses)).toBe(2);
    expect(await value(Metric.CacheSize)).toBe(2);
    const ttl = await redis.ttl((await redis.keys(`${prefix}:llm-cache:*`)).find((k) => !k.endsWith(':index')) ?? '');
    expect(ttl).toBeGreaterThan(86_000);
  });

  it("never answers one tenant from another tenant's entry", async () => {
    llm.reset();
    const cached = await client({ QUEUE_PREFIX: `${prefix}-tenants` });
    const question = 'What does our private memo say about HBM?';
    const forA = await cached.complete<{ answer: string }>(request(question, 'tenant-a'));
    const forB = await cached.complete<{ answer: string }>(request(question, 'tenant-b'));
    // Tenant B's identical request went to the model: it got its own reply, not A's.
    expect(llm.calls).toHaveLength(2);
    expect(forB.calls).toBe(1);
    expect(forB.value).not.toEqual(forA.value);
    // Each tenant is still answered from its own entry.
    expect((await cached.complete(request(question, 'tenant-a'))).calls).toBe(0);
    expect((await cached.complete(request(question, 'tenant-b'))).calls).toBe(0);
    expect(llm.calls).toHaveLength(2);
  });

  it('is off with LLM_CACHE_TTL_SECONDS=0', async () => {
    llm.reset();
    const uncached = await client({ LLM_CACHE_TTL_SECONDS: '0', QUEUE_PREFIX: `${prefix}-off` });
    await uncached.complete(request('Same question'));
    await uncached.complete(request('Same question'));
    expect(llm.calls).toHaveLength(2);
  });
});

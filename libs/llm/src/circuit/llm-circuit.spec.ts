import { loadConfig } from '@app/config';
import { Metric, MetricsModule } from '@app/observability';
import { FakeLlmServer, TestConfigModule } from '@app/testing';
import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { Counter, Gauge, Histogram, register } from 'prom-client';
import { EndpointSemaphore } from '../endpoint-semaphore';
import { LlmError, LlmFailure, LlmOutageError } from '../llm.errors';
import { LlmModule } from '../llm.module';
import { OpenAiLlmClient } from '../openai/openai-llm.client';
import { LlmCircuit } from './llm-circuit';
import { LlmCircuitMonitor } from './llm-circuit.monitor';

const REDIS_URL = 'redis://127.0.0.1:6379/0';
const SCHEMA = {
  name: 'answer',
  schema: {
    type: 'object',
    properties: { answer: { type: 'string' } },
    required: ['answer'],
    additionalProperties: false,
  },
};

async function gauge(name: string): Promise<number> {
  const metric = (await register.getSingleMetric(name)?.get()) as { values: { value: number }[] };
  return metric.values.reduce((sum, sample) => sum + sample.value, 0);
}

/** Two worker processes' worth of LLM modules, sharing one Redis and one endpoint. */
describe('LLM circuit breaker', () => {
  let llm: FakeLlmServer;
  let admin: Redis;
  let prefix: string;
  const modules: TestingModule[] = [];

  const redises: Redis[] = [];

  /**
   * One worker's LLM client, circuit and monitor. The first is the real module; the others are
   * the same classes over their own Redis connection, as another process would have them
   * (one process has one metrics registry).
   */
  async function worker(env: Record<string, string> = {}): Promise<{
    client: OpenAiLlmClient;
    circuit: LlmCircuit;
    monitor: LlmCircuitMonitor;
  }> {
    const config = loadConfig({
      LLM_BASE_URL: llm.baseUrl,
      LLM_MODEL: 'fake-model',
      LLM_MAX_RETRIES: '1',
      LLM_TIMEOUT_MS: '2000',
      LLM_CACHE_TTL_SECONDS: '0',
      LLM_CIRCUIT_FAILURES: '3',
      LLM_CIRCUIT_COOLDOWN_MS: '1000',
      LLM_CIRCUIT_MAX_COOLDOWN_MS: '4000',
      QUEUE_PREFIX: prefix,
      REDIS_URL,
      ...env,
    });
    if (modules.length === 0) {
      const moduleRef = await Test.createTestingModule({
        imports: [TestConfigModule.with(config), MetricsModule.forApp('worker'), LlmModule],
      }).compile();
      modules.push(moduleRef);
      return {
        client: moduleRef.get(OpenAiLlmClient),
        circuit: moduleRef.get(LlmCircuit),
        monitor: moduleRef.get(LlmCircuitMonitor),
      };
    }
    const redis = new Redis(REDIS_URL);
    redises.push(redis);
    const settings = config.llm!;
    const endpoint = new URL(settings.baseUrl).host;
    const circuit = new LlmCircuit(redis, endpoint, `${prefix}:llm-circuit:${endpoint}`, settings.circuit);
    const metric = <T>(name: string) => register.getSingleMetric(name) as T;
    const client = new OpenAiLlmClient(
      config,
      new EndpointSemaphore(redis, { key: `${prefix}:llm:${endpoint}`, limit: 8, leaseMs: 15_000 }),
      circuit,
      metric<Counter<string>>(Metric.LlmCost),
      metric<Counter<string>>(Metric.LlmRetries),
      metric<Histogram<string>>(Metric.LlmSlotWait),
      metric<Counter<string>>(Metric.StageTokens),
    );
    const monitor = new LlmCircuitMonitor(
      circuit,
      client,
      config,
      metric<Gauge<string>>(Metric.LlmCircuitOpen),
      metric<Gauge<string>>(Metric.LlmOutage),
    );
    return { client, circuit, monitor };
  }

  const ask = (client: OpenAiLlmClient) =>
    client.complete({
      tenantId: 'tenant-a',
      stage: 'planner',
      messages: [{ role: 'user', content: 'q' }],
      schema: SCHEMA,
    });

  const rejection = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error,
    );

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    llm.respond('answer', () => ({ answer: 'yes' }));
    admin = new Redis(REDIS_URL);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  beforeEach(() => {
    prefix = `llm-circuit-spec-${process.pid}-${Date.now()}`;
    llm.reset();
    register.clear();
  });

  afterEach(async () => {
    for (const moduleRef of modules.splice(0)) await moduleRef.close();
    for (const redis of redises.splice(0)) redis.disconnect();
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
  });

  afterAll(async () => {
    await admin.quit();
    await llm.stop();
    jest.restoreAllMocks();
  });

  it('opens after failures in a row, for every worker: calls are then refused without reaching the endpoint', async () => {
    const first = await worker();
    const second = await worker();
    llm.inject({ status: 500 }, { times: Infinity });

    // Two tries each: the second call's first failure is the third in a row.
    expect(await rejection(ask(first.client))).toMatchObject({ failure: LlmFailure.Unavailable });
    const outage = await rejection(ask(first.client));
    expect(outage).toBeInstanceOf(LlmOutageError);
    expect(outage).toMatchObject({ code: 'dependency_unavailable', details: { dependency: 'llm' } });
    expect(llm.calls).toHaveLength(3);

    // The other worker learns it from Redis, and makes no call either.
    expect((await second.circuit.refresh()).state).toBe('open');
    expect(await rejection(ask(second.client))).toBeInstanceOf(LlmOutageError);
    expect(llm.calls).toHaveLength(3);
    await second.monitor.check();
    expect(await gauge(Metric.LlmCircuitOpen)).toBe(1);
  });

  it('probes once the cooldown is over, stays open while the probe fails, and closes when it answers', async () => {
    const { client, circuit, monitor } = await worker();
    llm.inject({ status: 503 }, { times: Infinity });
    await rejection(ask(client));
    await rejection(ask(client));
    expect(circuit.view.state).toBe('open');

    await monitor.check();
    expect(llm.calls).toHaveLength(3); // still cooling down: no probe yet
    await new Promise((resolve) => setTimeout(resolve, 1050));
    await monitor.check();
    expect(llm.calls).toHaveLength(4);
    expect(llm.calls[3]?.schemaName).toBeUndefined(); // the probe is a plain one-token call
    expect(circuit.view.state).toBe('open'); // failed probe: open again, for twice as long

    llm.reset();
    await new Promise((resolve) => setTimeout(resolve, 1050));
    await monitor.check();
    expect(llm.calls).toHaveLength(0); // the second cooldown is twice as long
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await monitor.check();
    expect(llm.calls).toHaveLength(1);
    expect(circuit.view.state).toBe('closed');
    expect(await gauge(Metric.LlmCircuitOpen)).toBe(0);
    expect((await ask(client)).value).toEqual({ answer: 'yes' });
  });

  it('lets one worker probe at a time', async () => {
    const workers = [await worker(), await worker(), await worker()];
    llm.inject({ status: 500 }, { times: Infinity });
    await rejection(ask(workers[0]!.client));
    await rejection(ask(workers[0]!.client));
    await new Promise((resolve) => setTimeout(resolve, 1050));
    const before = llm.calls.length;
    await Promise.all(workers.map(({ monitor }) => monitor.check()));
    expect(llm.calls.length - before).toBe(1);
  });

  it('does not take rate limits for an outage', async () => {
    const { client, circuit } = await worker({ LLM_MAX_RETRIES: '0' });
    llm.inject({ status: 429, retryAfter: 0 }, { times: 5 });
    for (let i = 0; i < 5; i += 1) {
      expect(await rejection(ask(client))).toBeInstanceOf(LlmError);
    }
    expect(circuit.view.state).toBe('closed');
    expect((await ask(client)).value).toEqual({ answer: 'yes' });
  });

  it('stops holding work when the outage outlasts its bound: calls go through and fail with the reason', async () => {
    const { client, circuit } = await worker({ LLM_OUTAGE_MAX_SECONDS: '1' });
    llm.inject({ status: 500 }, { times: Infinity });
    await rejection(ask(client));
    expect(await rejection(ask(client))).toBeInstanceOf(LlmOutageError);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await circuit.refresh()).state).toBe('exhausted');
    expect(circuit.allowsCalls()).toBe(true);
    const calls = llm.calls.length;
    const error = await rejection(ask(client));
    expect(error).toMatchObject({ failure: LlmFailure.Unavailable });
    expect((error as Error).message).toContain('LLM_OUTAGE_MAX_SECONDS');
    expect(llm.calls.length).toBe(calls + 2);

    llm.reset();
    expect((await ask(client)).value).toEqual({ answer: 'yes' });
    expect(circuit.view.state).toBe('closed');
  });
});

import { Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppConfig, loadConfig } from '@app/config';
import { MetricsModule } from '@app/observability';
import { Logger } from '@nestjs/common';
import { TestConfigModule } from '@app/testing';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { register } from 'prom-client';
import { CachedLlmClient } from './cached-llm.client';
import { LlmClient } from './llm-client';
import { LLM_REDIS, LlmModule } from './llm.module';
import { LlmStartupCheck } from './llm-startup.check';
import { OpenAiLlmClient } from './openai/openai-llm.client';

const PREFIX = `llm-module-spec-${process.pid}-${Date.now()}`;

function configFor(env: Record<string, string>): AppConfig {
  return loadConfig({
    QUEUE_PREFIX: PREFIX,
    LLM_MODEL: 'test-default',
    LLM_STAGE_MODELS: 'writer=test-writer',
    ...env,
  });
}

function compile(config: AppConfig): Promise<TestingModule> {
  return Test.createTestingModule({
    imports: [TestConfigModule.with(config), MetricsModule.forApp('worker'), LlmModule],
  }).compile();
}

interface LogLine {
  level: 'info' | 'warn';
  context?: string;
  message: unknown;
  fields: unknown;
}

describe('LlmModule', () => {
  const logs: LogLine[] = [];
  const hanging: ServerResponse[] = [];
  let models: string[] | 'hang';
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (models === 'hang') {
        hanging.push(res);
        return;
      }
      const data = models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' }));
      res.writeHead(req.url === '/v1/models' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    for (const level of ['log', 'warn'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(function (this: Logger, message: unknown, ...rest) {
        const context = (this as unknown as { context?: string }).context;
        logs.push({ level: level === 'log' ? 'info' : 'warn', context, message: rest[0], fields: message });
      });
    }
  });

  beforeEach(() => {
    logs.length = 0;
    register.clear();
  });

  afterAll(async () => {
    for (const res of hanging) res.socket?.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    jest.restoreAllMocks();
    register.clear();
  });

  it('refuses to be built without an LLM endpoint, saying why', async () => {
    await expect(compile(configFor({}))).rejects.toThrow(
      'LlmModule needs an LLM endpoint, but LLM_BASE_URL is not set',
    );
  });

  it('binds the LlmClient port to the OpenAI adapter, and closes its Redis connection on shutdown', async () => {
    const moduleRef = await compile(configFor({ LLM_BASE_URL: baseUrl }));
    const redis = moduleRef.get<Redis>(LLM_REDIS);

    expect(moduleRef.get(LlmClient)).toBeInstanceOf(CachedLlmClient);
    expect(moduleRef.get(LlmClient)).toBe(moduleRef.get(CachedLlmClient));
    expect(moduleRef.get(OpenAiLlmClient)).toBeInstanceOf(OpenAiLlmClient);
    expect(await redis.ping()).toBe('PONG');
    const ended = new Promise<'ended'>((resolve) => redis.once('end', () => resolve('ended')));

    await moduleRef.close();
    expect(await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 1000, 'open'))])).toBe('ended');
  });

  it('logs at start-up the models the endpoint serves and whether the configured ones are among them', async () => {
    models = ['test-default', 'test-writer', 'other'];
    const moduleRef = await compile(configFor({ LLM_BASE_URL: baseUrl }));
    try {
      await moduleRef.get(LlmStartupCheck).check();
    } finally {
      await moduleRef.close();
    }

    expect(logs).toContainEqual({
      level: 'info',
      context: 'LlmClient',
      message: 'llm endpoint serves the configured models',
      fields: {
        endpoint: new URL(baseUrl).host,
        models: ['test-default', 'test-writer', 'other'],
        models_count: 3,
        configured: [
          { stage: 'default', model: 'test-default', available: true },
          { stage: 'writer', model: 'test-writer', available: true },
        ],
      },
    });
  });

  it('warns when a configured model is not listed', async () => {
    models = ['test-default'];
    const moduleRef = await compile(configFor({ LLM_BASE_URL: baseUrl }));
    try {
      await moduleRef.get(LlmStartupCheck).check();
    } finally {
      await moduleRef.close();
    }

    const line = logs.find((l) => l.message === 'llm endpoint does not list some configured models');
    expect(line).toMatchObject({
      level: 'warn',
      fields: {
        configured: [
          { stage: 'default', model: 'test-default', available: true },
          { stage: 'writer', model: 'test-writer', available: false },
        ],
      },
    });
  });

  it('warns why the endpoint did not answer', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const moduleRef = await compile(configFor({ LLM_BASE_URL: `http://127.0.0.1:${port}/v1` }));
    try {
      await moduleRef.get(LlmStartupCheck).check();
    } finally {
      await moduleRef.close();
    }

    expect(logs).toContainEqual({
      level: 'warn',
      context: 'LlmClient',
      message: 'llm endpoint did not list its models',
      fields: { endpoint: `127.0.0.1:${port}`, error: 'Connection error.' },
    });
  });

  it('does not hold start-up back while the endpoint is slow, and stops checking on shutdown', async () => {
    models = 'hang';
    const moduleRef = await compile(configFor({ LLM_BASE_URL: baseUrl }));
    const check = jest.spyOn(moduleRef.get(LlmStartupCheck), 'check');

    const started = Date.now();
    await moduleRef.init();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(check).toHaveBeenCalledTimes(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hanging).toHaveLength(1);

    await moduleRef.close();
    await check.mock.results[0].value;
    expect(logs.filter((l) => l.context === 'LlmClient')).toEqual([]);
  });
});

import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import { TestStack } from '@app/testing';

const exec = promisify(execFile);

/** The API section of the deployment chapter, command for command, on its ports (8000 and 8001). */
const SUBMIT = `curl -X POST http://localhost:8000/api/v1/research \\
  -H "Content-Type: application/json" \\
  -d '{
    "question": "2024年全球AI晶片市場分析",
    "max_sources": 10,
    "verify": true,
    "language": "zh-TW"
  }'`;
const QUERY = (id: string) => `curl http://localhost:8000/api/v1/research/${id}`;
const LIVENESS = 'curl http://localhost:8000/health';
const READINESS = 'curl http://localhost:8000/ready';
const METRICS = 'curl http://localhost:8000/metrics';

async function shell(command: string): Promise<string> {
  const { stdout } = await exec('bash', ['-c', `${command} --silent --show-error --fail-with-body`]);
  return stdout;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

describe("the chapter's API examples", () => {
  let stack: TestStack;

  beforeAll(async () => {
    for (const port of [8000, 8001]) {
      if (!(await portIsFree(port))) throw new Error(`port ${port} is taken: stop what runs there to run this suite`);
    }
    stack = await TestStack.create({ label: 'seed', env: { PORT: '8000', WORKER_PORT: '8001', HOST: '0.0.0.0' } });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    await stack.startApi();
    await stack.startWorker({ WORKER_PORT: '8001' });
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it('submits a research and queries it until it is completed, with curl as printed', async () => {
    const accepted = JSON.parse(await shell(SUBMIT));
    expect(accepted).toEqual({
      research_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      question: '2024年全球AI晶片市場分析',
      status: 'pending',
      created_at: expect.any(String),
    });

    let research = JSON.parse(await shell(QUERY(accepted.research_id)));
    for (let i = 0; i < 100 && research.status !== 'completed'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      research = JSON.parse(await shell(QUERY(accepted.research_id)));
    }
    expect(research.status).toBe('completed');
    expect(research.result.report).toContain('[1]');
    expect(research.result.language).toBe('zh-TW');
  });

  it('answers the probes and serves Prometheus metrics, with curl as printed', async () => {
    expect(JSON.parse(await shell(LIVENESS)).status).toBe('ok');
    const ready = JSON.parse(await shell(READINESS));
    expect(ready).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' } } });
    const metrics = await shell(METRICS);
    expect(metrics).toContain('# TYPE process_cpu_seconds_total counter');
    // The worker serves its own probes and metrics on WORKER_PORT.
    expect(JSON.parse(await shell('curl http://localhost:8001/ready')).status).toBe('ok');
    expect(await shell('curl http://localhost:8001/metrics')).toContain('nodejs_heap_size_used_bytes');
  });

  it('serves Swagger UI at /docs and a valid OpenAPI 3 document at /docs-json describing every endpoint', async () => {
    const ui = await stack.http.get('/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');

    const document = (await stack.http.get('/docs-json')).body;
    expect(document.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(document))).resolves.toBeDefined();

    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'GET /health',
        'GET /ready',
        'GET /metrics',
        'POST /api/v1/research',
        'GET /api/v1/research',
        'GET /api/v1/research/{id}',
        'GET /api/v1/research/{id}/events',
        'GET /api/v1/research/{id}/sources',
        'GET /api/v1/research/{id}/sources/{n}',
        'POST /api/v1/research/{id}/cancel',
        'POST /api/v1/research/{id}/retry',
        'GET /api/v1/research/{id}/deliveries',
        'POST /api/v1/research/{id}/deliveries/redeliver',
        'GET /api/v1/research/{id}/plan',
        'POST /api/v1/research/{id}/plan',
        'POST /api/v1/documents',
        'GET /api/v1/documents',
        'GET /api/v1/documents/{id}',
        'DELETE /api/v1/documents/{id}',
        'POST /api/v1/admin/keys',
        'GET /api/v1/admin/keys',
        'POST /api/v1/admin/keys/{id}/revoke',
        'GET /api/v1/admin/tenants/{name}/webhook-secret',
        'POST /api/v1/admin/tenants/{name}/webhook-secret/rotate',
        'GET /api/v1/audit',
        'GET /api/v1/audit/verify',
      ].sort(),
    );
    const submit = document.paths['/api/v1/research'].post;
    expect(Object.keys(submit.responses).sort()).toEqual(['202', '400', '401', '403', '413', '415', '422']);
    // Every operation says how to authenticate; the probes and metrics are public.
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['api_key', 'bearer']);
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      for (const operation of Object.values(item)) {
        const expected = ['/health', '/ready', '/metrics'].includes(path) ? [] : [{ bearer: [] }, { api_key: [] }];
        expect({ path, security: operation.security }).toEqual({ path, security: expected });
      }
    }
    expect(submit.responses['400'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/ErrorResponseDto',
    );
    const request = document.components.schemas.CreateResearchRequestDto;
    expect(request.required).toEqual(['question']);
    expect(request.properties.max_sources).toMatchObject({ minimum: 1, maximum: 50, default: 10 });
    expect(request.properties.question.example).toBe('2024年全球AI晶片市場分析');
  });
});

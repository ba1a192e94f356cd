import { ChildProcess, spawn } from 'node:child_process';
import { TcpProxy, TestStack, declaredMetrics, freePort, scrape, sleep, valueOf, waitFor } from '@app/testing';
import { metricNamesInMonitoring } from './support/monitoring-files';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe('metrics and logs of a real run', () => {
  let stack: TestStack;
  let workerUrl: string;

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'metrics' });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    await stack.startApi();
    const worker = await stack.startWorker();
    workerUrl = `http://127.0.0.1:${worker.lines.find((l) => l.message === 'worker started')?.port as number}`;
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it('moves the request, research and queue metrics by exactly what happened', async () => {
    const api = await scrape(stack.http.baseUrl);
    const worker = await scrape(workerUrl);
    const post = { method: 'POST', endpoint: '/api/v1/research' };

    const ids = [];
    for (const question of ['HBM supply', 'CoWoS capacity', 'AI accelerator market']) {
      ids.push(await stack.submit({ question }, { 'X-Request-Id': `metrics-${question.length}` }));
    }
    for (const id of ids) await stack.waitForStatus(id, ['completed']);
    await stack.http.request('POST', '/api/v1/research', {
      raw: '{"question":',
      headers: { 'content-type': 'application/json' },
    });
    await stack.http.get('/api/v1/research/7b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b');
    await stack.http.get('/no/such/route');

    const apiAfter = await scrape(stack.http.baseUrl);
    const workerAfter = await scrape(workerUrl);
    const delta = (before: typeof api, after: typeof api, name: string, labels: Record<string, string> = {}) =>
      valueOf(after.samples, name, labels) - valueOf(before.samples, name, labels);

    expect(delta(api, apiAfter, 'research_requests_total', { ...post, status: 'success', code: '2xx' })).toBe(3);
    expect(delta(api, apiAfter, 'research_requests_total', { ...post, status: 'error', code: '4xx' })).toBe(1);
    expect(
      delta(api, apiAfter, 'research_requests_total', {
        method: 'GET',
        endpoint: '/api/v1/research/{id}',
        code: '4xx',
      }),
    ).toBe(1);
    expect(delta(api, apiAfter, 'research_requests_total', { endpoint: 'unmatched', status: 'error' })).toBe(1);
    expect(delta(api, apiAfter, 'research_request_duration_seconds_count', post)).toBe(4);
    expect(delta(api, apiAfter, 'research_submitted_total', { outcome: 'accepted' })).toBe(3);
    expect(valueOf(apiAfter.samples, 'research_active_requests')).toBe(0);
    // Probes and scrapes are not counted.
    expect(apiAfter.samples.filter((s) => ['/metrics', '/health', '/ready'].includes(s.labels.endpoint ?? ''))).toEqual(
      [],
    );

    const completed = { engine: 'extractive', outcome: 'completed' };
    expect(delta(worker, workerAfter, 'research_runs_total', completed)).toBe(3);
    expect(delta(worker, workerAfter, 'research_run_duration_seconds_count', completed)).toBe(3);
    for (const agent of ['coordinator', 'searcher', 'reader', 'writer']) {
      expect(delta(worker, workerAfter, 'research_tasks_total', { agent, outcome: 'success' })).toBe(3);
      expect(delta(worker, workerAfter, 'research_task_duration_seconds_count', { agent })).toBe(3);
    }
    expect(valueOf(workerAfter.samples, 'research_active_tasks')).toBe(0);
    expect(valueOf(workerAfter.samples, 'research_queue_jobs', { state: 'waiting' })).toBe(0);
    expect(valueOf(workerAfter.samples, 'research_queue_jobs', { state: 'active' })).toBe(0);
    for (const name of [
      'llm_calls_total',
      'llm_call_duration_seconds',
      'llm_tokens_total',
      'research_cache_hits_total',
    ]) {
      expect(workerAfter.text).toContain(`# TYPE ${name} `);
    }

    // Label values are bounded: no ids, no questions.
    for (const sample of [...apiAfter.samples, ...workerAfter.samples]) {
      for (const value of Object.values(sample.labels)) {
        expect(value).not.toMatch(UUID);
        expect(value).not.toMatch(/HBM|CoWoS/);
      }
    }
    expect(apiAfter.samples.every((s) => s.labels.service === 'api')).toBe(true);
    expect(workerAfter.samples.every((s) => s.labels.service === 'worker')).toBe(true);
  });

  it('exports every metric the alert rules and dashboards query', async () => {
    const exported = new Set([
      ...declaredMetrics((await scrape(stack.http.baseUrl)).text),
      ...declaredMetrics((await scrape(workerUrl)).text),
    ]);
    const references = metricNamesInMonitoring();
    expect(references.length).toBeGreaterThan(20);
    const missing = references.filter((reference) => !exported.has(reference.metric));
    expect(missing).toEqual([]);
  });

  it('writes every line as JSON, and carries one request id from the api through the worker', async () => {
    const id = await stack.submit({ question: 'TSMC packaging' }, { 'X-Request-Id': 'trace-across-processes' });
    await stack.waitForStatus(id, ['completed']);
    const worker = stack.workers[0]!;
    await worker.waitForLog('the completion', (l) => l.research_id === id && l.message === 'research completed');

    for (const process of [stack.api!, worker]) {
      expect(process.rawStdout.length).toBeGreaterThan(0);
      expect(process.rawStdout.length).toBe(process.lines.length);
      for (const line of process.lines) {
        expect(line.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']).toContain(line.level);
        expect(typeof line.logger).toBe('string');
        expect(typeof line.message).toBe('string');
      }
    }
    const apiLines = stack.api!.lines.filter((l) => l.request_id === 'trace-across-processes');
    expect(apiLines.map((l) => l.message)).toEqual(['research accepted', 'request completed']);
    const workerLines = worker.lines.filter((l) => l.research_id === id);
    expect(workerLines.map((l) => l.message)).toEqual(['research started', 'research completed']);
    expect(workerLines.every((l) => l.request_id === 'trace-across-processes')).toBe(true);
  });
});

/** Starts a redis-server of the test's own, so that it can be stopped and started again. */
class OwnRedis {
  private child: ChildProcess | undefined;

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    if (this.child && this.child.exitCode === null) return;
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await waitFor('redis to listen', async () => {
      const { createConnection } = await import('node:net');
      return new Promise<boolean>((resolve) => {
        const socket = createConnection(this.port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

describe('readiness follows the dependencies, without restarting the apps', () => {
  let stack: TestStack;
  let redis: OwnRedis;
  let postgres: TcpProxy;
  let workerUrl: string;

  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    postgres = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
    stack = await TestStack.create({ label: 'ready', env: { REDIS_URL: `redis://127.0.0.1:${redis.port}/0` } });
    // Both apps reach the suite's database through the proxy, which can cut them off.
    stack.env.DATABASE_URL = stack.database.url.replace(':5432/', `:${postgres.port}/`);
    await stack.startApi();
    const worker = await stack.startWorker();
    workerUrl = `http://127.0.0.1:${worker.lines.find((l) => l.message === 'worker started')?.port as number}`;
  });

  afterAll(async () => {
    await postgres?.restore();
    await redis?.start();
    await stack?.teardown();
    await redis?.stop();
    await postgres?.cut();
  });

  const ready = async (base: string) => {
    const response = await fetch(`${base}/ready`);
    return { status: response.status, body: (await response.json()) as any };
  };
  const both = () => [stack.http.baseUrl, workerUrl];

  it('is ready when PostgreSQL and Redis answer', async () => {
    for (const base of both()) expect(await ready(base)).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('turns 503 naming redis when Redis stops, and 200 again when it is back', async () => {
    await redis.stop();
    for (const base of both()) {
      const answer = await waitFor('503', async () => {
        const r = await ready(base);
        return r.status === 503 ? r : undefined;
      });
      expect(answer.body.error.code).toBe('not_ready');
      expect(answer.body.error.message).toBe('not ready: redis down');
      expect(answer.body.error.details.error.redis.status).toBe('down');
      expect(answer.body.error.details.info.database.status).toBe('up');
      // Liveness does not depend on Redis.
      expect((await fetch(`${base}/health`)).status).toBe(200);
    }
    // A research submitted meanwhile is stored, and runs once Redis is back.
    const id = await stack.submit({ question: 'submitted while Redis was down' });

    await redis.start();
    for (const base of both()) {
      await waitFor('ready again', async () => (await ready(base)).status === 200, 20000);
    }
    await stack.waitForStatus(id, ['completed'], 30000);
  });

  it('turns 503 naming database when PostgreSQL is unreachable, answers 503 to writes, and recovers', async () => {
    await postgres.cut();
    for (const base of both()) {
      const answer = await waitFor('503', async () => {
        const r = await ready(base);
        return r.status === 503 ? r : undefined;
      });
      expect(answer.body.error.message).toBe('not ready: database down');
    }
    const write = await stack.http.post('/api/v1/research', { question: 'while the database is away' });
    expect(write.status).toBe(503);
    expect(write.body.error.code).toBe('dependency_unavailable');

    await postgres.restore();
    for (const base of both()) {
      await waitFor('ready again', async () => (await ready(base)).status === 200, 20000);
    }
    const id = await stack.submit({ question: 'after the database came back' });
    await stack.waitForStatus(id, ['completed']);
    await sleep(10);
  });
});

describe('queue dashboard', () => {
  let stack: TestStack;

  afterEach(async () => {
    await stack?.teardown();
  });

  it('is off by default', async () => {
    stack = await TestStack.create({ label: 'board-off' });
    await stack.startApi();
    const response = await stack.http.get('/admin/queues');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('route_not_found');
  });

  it('serves Bull Board at /admin/queues when enabled, to admin keys only, showing the research queue', async () => {
    stack = await TestStack.create({ label: 'board-on', env: { QUEUE_DASHBOARD_ENABLED: 'true' } });
    await stack.startApi();
    const admin = lastLine((await stack.cli(['keys', 'create', '--tenant', 'ops', '--scopes', 'admin'])).stdout);
    const reader = lastLine(
      (await stack.cli(['keys', 'create', '--tenant', 'ops', '--scopes', 'research:read'])).stdout,
    );
    await stack.submit({ question: 'visible in the dashboard' });

    // Never anonymous, even in development; and only with the admin scope.
    const anonymous = await stack.http.get('/admin/queues');
    expect({ status: anonymous.status, code: anonymous.body.error?.code }).toEqual({
      status: 401,
      code: 'unauthorized',
    });
    const notAdmin = await stack.http.get('/admin/queues/api/queues', { authorization: `Bearer ${reader}` });
    expect({ status: notAdmin.status, code: notAdmin.body.error?.code }).toEqual({ status: 403, code: 'forbidden' });

    // A browser is asked for the key as the password of HTTP Basic authentication.
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const basic = `Basic ${Buffer.from(`admin:${admin}`).toString('base64')}`;
    expect((await stack.http.get('/admin/queues', { authorization: basic })).status).toBe(200);
    const page = await stack.http.get('/admin/queues', { authorization: `Bearer ${admin}` });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<base href="/admin/queues/" />');
    const queues = await stack.http.get('/admin/queues/api/queues', { 'x-api-key': admin });
    expect(queues.body.queues.map((q: { name: string }) => q.name)).toEqual(['research']);
    expect(queues.body.queues[0].counts.waiting).toBe(1);
  });
});

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

import { TestStack, sleep } from '@app/testing';

/**
 * Nothing accepted is lost: cancellation, a worker killed mid-research, Redis flushed or
 * unreachable. A research is held mid-run by locking the documents table its search reads.
 */
describe('recovery and cancellation', () => {
  let stack: TestStack;
  let lock: { release(): Promise<void> } | undefined;

  beforeAll(async () => {
    // Redis db 5 is this suite's own: it is flushed here.
    stack = await TestStack.create({ label: 'recovery', redisDb: 5 });
    const ingested = await stack.cli(['ingest', 'examples/corpus']);
    expect(ingested.code).toBe(0);
    await stack.startApi();
  });

  afterEach(async () => {
    await releaseDocuments();
    await Promise.all(stack.workers.splice(0).map((worker) => worker.stop()));
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  /** Blocks every query on documents until released: a research stays mid-run. */
  async function holdDocuments(): Promise<void> {
    lock = await stack.database.lockTable('documents');
  }

  async function releaseDocuments(): Promise<void> {
    await lock?.release();
    lock = undefined;
  }

  const events = (id: string) =>
    stack.database.query<{ type: string; data: Record<string, unknown> }>(
      `SELECT type, data FROM research_events WHERE research_id = $1 ORDER BY seq`,
      [id],
    );

  async function expectCompletedExactlyOnce(id: string): Promise<void> {
    const research = await stack.waitForStatus(id, ['completed'], 30000);
    expect(research.result.report.length).toBeGreaterThan(0);
    const types = (await events(id)).map((e) => e.type);
    expect(types.filter((t) => t === 'research.completed')).toHaveLength(1);
    expect(types.filter((t) => ['research.failed', 'research.cancelled'].includes(t))).toHaveLength(0);
  }

  it('cancels a pending research, which then never runs', async () => {
    const id = await stack.submit({ question: 'pending then cancelled' });
    const cancelled = await stack.http.post(`/api/v1/research/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ research_id: id, status: 'cancelled', result: null });
    expect(cancelled.body.finished_at).not.toBeNull();

    const again = await stack.http.post(`/api/v1/research/${id}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('cancelled');

    await stack.startWorker();
    const probe = await stack.submit({ question: 'AI chip market after the cancellation' });
    await stack.waitForStatus(probe, ['completed']);
    expect((await stack.research(id)).status).toBe('cancelled');
    expect((await events(id)).map((e) => e.type)).toEqual(['research.created', 'research.cancelled']);
  });

  it('stops a running research at its next step when it is cancelled', async () => {
    await stack.startWorker();
    await holdDocuments();
    const id = await stack.submit({ question: 'running then cancelled' });
    await stack.waitForStatus(id, ['running']);

    const cancelled = await stack.http.post(`/api/v1/research/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');

    const worker = stack.workers[0]!;
    await worker.waitForLog('the run to stop', (l) => l.message === 'research stopped' && l.research_id === id);
    await releaseDocuments();
    await sleep(300);
    const research = await stack.research(id);
    expect(research).toMatchObject({ status: 'cancelled', result: null });
    const types = (await events(id)).map((e) => e.type);
    expect(types).toContain('research.cancelled');
    expect(types).not.toContain('research.completed');
    expect(types).not.toContain('stage.finished');
  });

  it('finishes a research exactly once after its worker is killed with SIGKILL mid-run', async () => {
    const doomed = await stack.startWorker();
    await holdDocuments();
    const id = await stack.submit({ question: 'AI accelerator supply 2024' });
    const running = await stack.waitForStatus(id, ['running']);
    expect(running.attempts).toBe(1);

    doomed.kill('SIGKILL');
    expect((await doomed.waitForExit()).signal).toBe('SIGKILL');
    await releaseDocuments();

    await stack.startWorker();
    await expectCompletedExactlyOnce(id);
    const research = await stack.research(id);
    expect(research.attempts).toBe(2);
    expect((await events(id)).filter((e) => e.type === 'research.started')).toHaveLength(2);
  });

  it('finishes every pending research exactly once after Redis is flushed', async () => {
    const ids = [];
    for (const question of ['HBM shortage', 'CoWoS capacity', 'export controls on AI chips']) {
      ids.push(await stack.submit({ question }));
    }
    expect((await stack.queueKeys()).length).toBeGreaterThan(0);
    await stack.redis.flushdb();
    expect(await stack.queueKeys()).toEqual([]);

    await stack.startWorker();
    for (const id of ids) await expectCompletedExactlyOnce(id);
    for (const id of ids) {
      const requeued = (await events(id)).filter((e) => e.type === 'research.requeued');
      expect(requeued).toHaveLength(1);
      expect(requeued[0]?.data).toEqual({ status: 'pending', job_state: 'missing' });
    }
  });

  it('finishes a running research exactly once after its worker is killed and Redis flushed', async () => {
    const doomed = await stack.startWorker();
    await holdDocuments();
    const id = await stack.submit({ question: 'AI chips supply chain' });
    await stack.waitForStatus(id, ['running']);
    doomed.kill('SIGKILL');
    await doomed.waitForExit();
    await stack.redis.flushdb();
    await releaseDocuments();

    await stack.startWorker();
    await expectCompletedExactlyOnce(id);
    const requeued = (await events(id)).filter((e) => e.type === 'research.requeued');
    expect(requeued.map((e) => e.data.status)).toEqual(['running']);
  });

  it('accepts research while Redis is unreachable and runs it once Redis is back', async () => {
    const offline = await TestStack.create({ label: 'noredis', env: { REDIS_URL: 'redis://127.0.0.1:1/0' } });
    try {
      // An api whose Redis is down, over the same database as a healthy worker.
      const api = await offline.startApi({ DATABASE_URL: stack.env.DATABASE_URL! });
      const started = Date.now();
      const response = await offline.http.post('/api/v1/research', { question: 'accepted while Redis is down' });
      expect(response.status).toBe(202);
      expect(Date.now() - started).toBeLessThan(5000);
      const ready = await offline.http.get('/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error.message).toContain('redis');
      await api.stop();

      await stack.startWorker();
      await expectCompletedExactlyOnce(response.body.research_id);
    } finally {
      await offline.teardown();
    }
  });

  it('does not run a research twice when two workers race for it', async () => {
    await stack.startWorker();
    await stack.startWorker();
    const ids = [];
    for (let i = 0; i < 6; i += 1) ids.push(await stack.submit({ question: `race ${i} AI chips` }));
    for (const id of ids) await expectCompletedExactlyOnce(id);
    for (const id of ids) expect((await stack.research(id)).attempts).toBe(1);
    const completions = stack.workers.flatMap((worker) =>
      worker.lines.filter((l) => l.message === 'research completed'),
    );
    expect(completions.map((l) => l.research_id).sort()).toEqual([...ids].sort());
  });
});

import { LogLine, TcpProxy, TestStack, sleep, waitFor } from '@app/testing';

/**
 * A research whose engine keeps failing is retried with backoff and then marked failed with a
 * readable reason. The fault is real: the documents table is locked and the worker's statement
 * timeout is short, so every search times out in PostgreSQL.
 */
describe('failing research', () => {
  let stack: TestStack;
  let lock: { release(): Promise<void> } | undefined;

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'failure', env: { RESEARCH_ATTEMPTS: '2', RESEARCH_BACKOFF_MS: '100' } });
    await stack.startApi();
    await stack.startWorker({ DB_STATEMENT_TIMEOUT_MS: '300' });
  });

  afterAll(async () => {
    await lock?.release();
    await stack?.teardown();
  });

  it('retries, then fails with the reason, the attempts and the events that show it', async () => {
    lock = await stack.database.lockTable('documents');

    const id = await stack.submit({ question: 'a research that cannot search' });
    const research = await stack.waitForStatus(id, ['failed', 'completed', 'cancelled']);
    expect(research).toMatchObject({ status: 'failed', attempts: 2, result: null });
    expect(research.error).toEqual({ code: 'runner_failed', message: 'canceling statement due to statement timeout' });
    expect(research.finished_at).not.toBeNull();

    const events = await stack.database.query<{ type: string; data: Record<string, unknown> }>(
      `SELECT type, data FROM research_events WHERE research_id = $1 ORDER BY seq`,
      [id],
    );
    expect(events.map((e) => e.type)).toEqual([
      'research.created',
      'research.started',
      'stage.started',
      'research.retry_scheduled',
      'research.started',
      'stage.started',
      'research.failed',
    ]);
    expect(events[3]?.data).toEqual(research.error);

    const worker = stack.workers[0]!;
    const failedLine = await worker.waitForLog('research failed', (l) => l.message === 'research failed');
    expect(failedLine).toMatchObject({ level: 'ERROR', research_id: id, attempt: 2 });

    // A failed research stays failed: cancelling it is a conflict.
    const cancel = await stack.http.post(`/api/v1/research/${id}/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.details).toEqual({ status: 'failed' });

    // Once the cause is gone, the failed research can be run again, and completes.
    await lock.release();
    lock = undefined;
    const retry = await stack.http.post(`/api/v1/research/${id}/retry`);
    expect(retry.status).toBe(202);
    expect(retry.headers.get('location')).toBe(`/api/v1/research/${id}`);
    expect(retry.body).toMatchObject({ research_id: id, status: 'pending', error: null, finished_at: null });
    const retried = await stack.waitForStatus(id, ['failed', 'completed', 'cancelled']);
    expect(retried).toMatchObject({ status: 'completed', attempts: 3, error: null });
    const after = await stack.database.query<{ type: string }>(
      `SELECT type FROM research_events WHERE research_id = $1 AND seq > 7 ORDER BY seq`,
      [id],
    );
    expect(after.map((e) => e.type)).toEqual([
      'research.retried',
      'research.started',
      'stage.started',
      'stage.finished',
      'stage.started',
      'stage.finished',
      'stage.started',
      'stage.finished',
      'research.completed',
    ]);
  });

  it('retries only a failed research', async () => {
    const id = await stack.submit({ question: 'a research that completes' });
    await stack.waitForStatus(id, ['completed']);
    const completed = await stack.http.post(`/api/v1/research/${id}/retry`);
    expect(completed.status).toBe(409);
    expect(completed.body.error).toMatchObject({ code: 'research_not_retryable', details: { status: 'completed' } });

    const missing = await stack.http.post('/api/v1/research/00000000-0000-4000-8000-000000000000/retry');
    expect(missing.status).toBe(404);
    const malformed = await stack.http.post('/api/v1/research/not-a-uuid/retry');
    expect(malformed.status).toBe(400);
  });
});

/**
 * A run that fails while PostgreSQL is unreachable cannot record that it failed. It keeps trying,
 * says so in the log, and hands the research back as soon as the database answers, instead of
 * leaving it `running` until its lease expires. The worker reaches PostgreSQL through a proxy
 * that the test cuts; the api and the test reach it directly.
 */
describe('a run failing while the database is down', () => {
  let stack: TestStack;
  let proxy: TcpProxy;
  let lock: { release(): Promise<void> } | undefined;

  beforeAll(async () => {
    // A lease far longer than the test: only the recorded outcome can move the research on.
    stack = await TestStack.create({
      label: 'failuredb',
      env: { RESEARCH_LEASE_MS: '60000', RESEARCH_BACKOFF_MS: '100' },
    });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    await stack.startApi();
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
    const url = new URL(stack.database.url);
    url.port = String(proxy.port);
    await stack.startWorker({ DATABASE_URL: url.toString() });
  });

  afterAll(async () => {
    await proxy?.restore();
    await lock?.release();
    await stack?.teardown();
    await proxy?.cut();
  });

  it('logs each try, and hands the research back once the database is back, long before the lease ends', async () => {
    lock = await stack.database.lockTable('documents');
    const id = await stack.submit({ question: 'NVIDIA data center revenue 2024' });
    await stack.waitForStatus(id, ['running']);
    await waitFor('the run to be searching', async () => {
      const rows = await stack.database.query(
        `SELECT 1 FROM pg_locks WHERE relation = 'documents'::regclass AND NOT granted`,
      );
      return rows.length > 0;
    });

    await proxy.cut();
    const worker = stack.workers[0]!;
    const notRecorded = (line: LogLine) => line.message.startsWith('research outcome not recorded');
    const first = await worker.waitForLog('the outcome not recorded', notRecorded);
    expect(first).toMatchObject({ level: 'WARN', research_id: id, outcome: 'retry scheduled' });
    await sleep(1500);
    expect(worker.lines.filter(notRecorded).length).toBeGreaterThan(1);
    expect((await stack.research(id)).status).toBe('running');

    const restoredAt = Date.now();
    await proxy.restore();
    await waitFor(
      'the research to be handed back',
      async () => (await stack.research(id)).status !== 'running' || (await stack.research(id)).attempts > 1,
      15000,
    );
    expect(Date.now() - restoredAt).toBeLessThan(15000);
    await worker.waitForLog('the outcome recorded', (line) => line.message.startsWith('research outcome recorded'));

    await lock.release();
    lock = undefined;
    const research = await stack.waitForStatus(id);
    expect(research).toMatchObject({ status: 'completed', attempts: 2 });
    const events = await stack.database.query<{ type: string }>(
      `SELECT type FROM research_events WHERE research_id = $1 ORDER BY seq`,
      [id],
    );
    expect(events.map((e) => e.type)).toContain('research.retry_scheduled');
  });
});

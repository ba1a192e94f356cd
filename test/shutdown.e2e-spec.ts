import { TestStack, sleep, waitFor } from '@app/testing';

/** SIGTERM: the api drains in-flight requests; the worker finishes or hands back its research. */
describe('graceful shutdown', () => {
  let stack: TestStack;
  let lock: { release(): Promise<void> } | undefined;

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'shutdown' });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
  });

  afterEach(async () => {
    await releaseDocuments();
    await Promise.all(stack.workers.splice(0).map((worker) => worker.stop()));
    await stack.api?.stop();
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

  it('api: turns readiness off, refuses new connections, finishes the request in flight, exits 0', async () => {
    const api = await stack.startApi({ SHUTDOWN_READY_DELAY_MS: '1500' });
    await holdDocuments();
    // This insert waits on the lock: a request in flight.
    const inFlight = stack.http.post('/api/v1/documents', { title: 'in flight', text: 'written during shutdown' });
    await waitFor('the insert to wait on the lock', async () => {
      const rows = await stack.database.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return rows.length > 0;
    });

    api.kill('SIGTERM');
    const notReady = await waitFor('readiness to turn 503', async () => {
      const ready = await stack.http.get('/ready');
      return ready.status === 503 ? ready : undefined;
    });
    expect(notReady.body.error).toMatchObject({ code: 'not_ready' });
    expect(notReady.body.error.message).toContain('lifecycle');

    await waitFor('new connections to be refused', async () => {
      const refused = await fetch(`${stack.http.baseUrl}/health`).then(
        () => false,
        () => true,
      );
      return refused;
    });
    expect(api.running).toBe(true);

    await releaseDocuments();
    const response = await inFlight;
    expect(response.status).toBe(201);
    expect(await api.waitForExit()).toEqual({ code: 0, signal: null });
    expect(api.lines.map((l) => l.message)).toContain('shutdown complete');
  });

  it('worker: finishes the research it is running before exiting 0', async () => {
    await stack.startApi();
    const worker = await stack.startWorker({ SHUTDOWN_TIMEOUT_MS: '15000' });
    await holdDocuments();
    const id = await stack.submit({ question: 'HBM suppliers 2024' });
    await stack.waitForStatus(id, ['running']);

    worker.kill('SIGTERM');
    await sleep(700);
    expect(worker.running).toBe(true);
    await releaseDocuments();

    expect(await worker.waitForExit()).toEqual({ code: 0, signal: null });
    const research = await stack.research(id);
    expect(research).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('worker: hands a research that outlasts the timeout back, exits 0 in time, and another worker finishes it', async () => {
    await stack.startApi();
    const worker = await stack.startWorker({ SHUTDOWN_TIMEOUT_MS: '4000' });
    await holdDocuments();
    const id = await stack.submit({ question: 'AI accelerator market share' });
    await stack.waitForStatus(id, ['running']);

    const signalled = Date.now();
    worker.kill('SIGTERM');
    expect(await worker.waitForExit()).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(4000);
    expect(worker.lines.map((l) => l.message)).toContain('research handed back for another worker');

    const handedBack = await stack.research(id);
    expect(handedBack.status).toBe('pending');
    await releaseDocuments();

    await stack.startWorker();
    const done = await stack.waitForStatus(id, ['completed']);
    expect(done.attempts).toBe(2);
    const types = (
      await stack.database.query<{ type: string }>(
        `SELECT type FROM research_events WHERE research_id = $1 ORDER BY seq`,
        [id],
      )
    ).map((e) => e.type);
    expect(types.filter((t) => t === 'research.handed_back')).toHaveLength(1);
    expect(types.filter((t) => t === 'research.completed')).toHaveLength(1);
  });

  it('worker: exits 0 at once when idle', async () => {
    const worker = await stack.startWorker();
    const signalled = Date.now();
    worker.kill('SIGTERM');
    expect(await worker.waitForExit()).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(3000);
  });
});

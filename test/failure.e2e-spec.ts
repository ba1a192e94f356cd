import { TestStack } from '@app/testing';

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

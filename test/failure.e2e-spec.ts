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
  });
});

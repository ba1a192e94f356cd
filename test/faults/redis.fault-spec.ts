import {
  FaultServers,
  SubmissionLoad,
  TestStack,
  addFaultCorpus,
  describeOutcome,
  faultQuestion,
  settleResearches,
  waitFor,
} from '@app/testing';

/**
 * Redis loses the queue under load: restarted empty, or flushed. PostgreSQL still holds every
 * research, so the reconciler puts back on the queue what Redis forgot. Researches run on the
 * offline engine; two clients submit faster than the workers, one job at a time each, can run
 * them, and the fault comes while researches are both waiting and running.
 */
describe('fault: Redis loses the queue under load', () => {
  let servers: FaultServers;

  beforeAll(async () => {
    servers = await FaultServers.start();
  });

  afterAll(async () => {
    await servers?.destroy();
  });

  async function busyStack(label: string): Promise<{ stack: TestStack; load: SubmissionLoad }> {
    const stack = await servers.stack(label, { QUEUE_CONCURRENCY: '1' });
    await stack.startApi();
    await addFaultCorpus(stack);
    await stack.startWorker();
    await stack.startWorker();
    // Enough submissions that a backlog forms even while the api is still warming up (its first
    // answers, with the database pool still connecting, come slower than the workers run jobs).
    const load = SubmissionLoad.start({
      targets: () => [stack.http],
      count: 80,
      intervalMs: 0,
      clients: 2,
      question: faultQuestion,
    });
    return { stack, load };
  }

  /**
   * Waits until researches are both waiting for a worker and running, as PostgreSQL shows them.
   * Up to two pending ones may not be queued yet (their request is in flight) and up to two may
   * be being claimed, so six pending leave at least two jobs waiting in Redis.
   */
  async function waitForBacklog(stack: TestStack, load: SubmissionLoad): Promise<void> {
    let seen = 'nothing yet';
    await waitFor(
      'researches waiting and running',
      async () => {
        const rows = await stack.database.query<{ status: string; count: number }>(
          `SELECT status, count(*)::int AS count FROM researches GROUP BY status`,
        );
        const count = (status: string) => rows.find((row) => row.status === status)?.count ?? 0;
        seen = `${JSON.stringify(rows)} stored, answers so far ${JSON.stringify(load.statusCounts())}`;
        return count('pending') >= 6 && count('running') >= 1;
      },
      30000,
      10,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last seen: ${seen}`);
    });
  }

  async function expectNothingLost(scenario: string, stack: TestStack, load: SubmissionLoad, started: number) {
    await load.finished();
    const report = await settleResearches(stack.database, load.acknowledged, { timeoutMs: 60000, http: stack.http });
    process.stdout.write(`${describeOutcome(scenario, report, Date.now() - started)}\n`);
    // Every submission was acknowledged: none refused, failed or left without an answer.
    expect(load.statusCounts()).toEqual({ '202': load.acknowledged.length });
    expect(report.violations).toEqual([]);
    // The fault did lose queued jobs: the reconciler had to put researches back on the queue.
    expect(report.requeued).toBeGreaterThan(0);
  }

  it('completes every research exactly once when Redis is restarted empty while researches are in flight', async () => {
    const started = Date.now();
    const { stack, load } = await busyStack('redis-restart');
    try {
      await waitForBacklog(stack, load);
      const down = Date.now();
      await servers.redis.kill();
      // Down long enough for the api to accept submissions without it, and to say so.
      await waitFor(
        'a submission to be acknowledged while Redis is down',
        () => load.attempts.some((attempt) => attempt.at > down && attempt.status === 202),
        20000,
      );
      const ready = await stack.http.get('/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error.message).toContain('redis');
      await servers.redis.startServer();
      await expectNothingLost(
        `Redis down for ${((Date.now() - down) / 1000).toFixed(1)} s, restarted empty, under load`,
        stack,
        load,
        started,
      );
    } finally {
      await stack.teardown();
    }
  });

  it('completes every research exactly once when Redis is flushed (FLUSHALL) while researches are in flight', async () => {
    const started = Date.now();
    const { stack, load } = await busyStack('redis-flush');
    try {
      await waitForBacklog(stack, load);
      await servers.redis.flushAll();
      await expectNothingLost('Redis FLUSHALL under load', stack, load, started);
    } finally {
      await stack.teardown();
    }
  });
});

import {
  FaultServers,
  SubmissionLoad,
  TestStack,
  addFaultCorpus,
  describeOutcome,
  faultQuestion,
  freePort,
  settleResearches,
  sleep,
  waitFor,
} from '@app/testing';

/**
 * PostgreSQL, the source of truth, crashes or is restarted under load and comes back. While it is away the api
 * says so with 503, never 500, and runs caught by the outage wait for it to record their outcome;
 * once it is back, the same api and workers carry on, and every research acknowledged before or
 * after the outage completes. Researches run on the offline engine; two clients submit faster than the workers,
 * one job at a time each, can run them, so the outage finds researches waiting and running.
 */
describe('fault: PostgreSQL restarted under load', () => {
  let servers: FaultServers;

  beforeAll(async () => {
    servers = await FaultServers.start();
  });

  afterAll(async () => {
    await servers?.destroy();
  });

  async function statusCounts(stack: TestStack): Promise<Record<string, number>> {
    const rows = await stack.database.query<{ status: string; count: number }>(
      `SELECT status, count(*)::int AS count FROM researches GROUP BY status`,
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.count]));
  }

  /** GETs a research and the first page of the list in turn until stopped; returns every status. */
  function readContinuously(stack: TestStack, id: string): { stop(): Promise<number[]> } {
    const statuses: number[] = [];
    let stopped = false;
    const reading = (async () => {
      for (let n = 0; !stopped; n += 1) {
        const path = n % 2 === 0 ? `/api/v1/research/${id}` : '/api/v1/research?limit=5';
        // No answer at all is recorded as 0: the api must always answer.
        statuses.push(
          await stack.http.get(path).then(
            (response) => response.status,
            () => 0,
          ),
        );
        await sleep(10);
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await reading;
        return statuses;
      },
    };
  }

  it.each([
    // A crash: every session is cut at once, and the next start replays the WAL.
    { mode: 'immediate', what: 'crashed' },
    // A clean restart: the server ends every session with an error, then shuts down.
    { mode: 'fast', what: 'stopped cleanly' },
  ] as const)(
    'answers 503 while PostgreSQL is down ($what), recovers without restarts, and completes every research',
    async ({ mode, what }) => {
      const started = Date.now();
      const stack = await servers.stack(`postgres-${mode}`, { QUEUE_CONCURRENCY: '1' });
      const running: { load?: SubmissionLoad; reads?: { stop(): Promise<number[]> } } = {};
      try {
        const api = await stack.startApi();
        await addFaultCorpus(stack);
        const workerPort = await freePort();
        const workers = [await stack.startWorker({ WORKER_PORT: String(workerPort) }), await stack.startWorker()];
        // Submits until told to stop, so that researches are acknowledged before and after the outage.
        const load = SubmissionLoad.start({
          targets: () => [stack.http],
          count: 1000,
          intervalMs: 0,
          clients: 2,
          question: faultQuestion,
        });
        running.load = load;
        await waitFor(
          'researches waiting and running',
          async () => {
            const counts = await statusCounts(stack);
            return (counts.pending ?? 0) >= 6 && (counts.running ?? 0) >= 1;
          },
          30000,
          10,
        );
        const someId = load.acknowledged[0]!;
        // A reader too, polling a research and the list through the outage and the recovery.
        const reads = readContinuously(stack, someId);
        running.reads = reads;

        const down = Date.now();
        await servers.postgres.stopServer(mode);
        const whileDown = await Promise.all([
          stack.http.post('/api/v1/research', { question: faultQuestion(1000) }),
          stack.http.get(`/api/v1/research/${someId}`),
          stack.http.get('/api/v1/research?limit=5'),
          stack.http.get('/ready'),
        ]);
        expect(whileDown.map((response) => response.status)).toEqual([503, 503, 503, 503]);
        const [submitted, read, listed, ready] = whileDown;
        expect([submitted, read, listed].map((response) => response!.body.error.code)).toEqual([
          'dependency_unavailable',
          'dependency_unavailable',
          'dependency_unavailable',
        ]);
        expect(ready!.body.error.message).toContain('database');
        // The load went on meanwhile and was told 503 too. Runs caught by the outage keep trying
        // to record their outcome, and the workers take no new job meanwhile.
        await waitFor('a submission to be refused with 503', () =>
          load.attempts.some((attempt) => attempt.at > down && attempt.status === 503),
        );
        await sleep(1500);

        await servers.postgres.startServer();
        const up = Date.now();
        const acknowledgedAfter = () => load.attempts.filter((attempt) => attempt.at > up && attempt.status === 202);
        await waitFor(
          'the api to acknowledge 15 submissions again, and 40 in all',
          () => {
            if (acknowledgedAfter().length >= 15 && load.acknowledged.length >= 40) return true;
            const last = load.attempts.at(-1);
            throw new Error(`the last answer was ${last?.status ?? last?.error} ${last?.code ?? ''}`);
          },
          30000,
        );
        await load.stop();
        const readStatuses = await reads.stop();
        const acknowledgedBefore = load.attempts.filter((attempt) => attempt.at < down && attempt.status === 202);

        const report = await settleResearches(stack.database, load.acknowledged, {
          timeoutMs: 60000,
          http: stack.http,
        });
        const outage = ((up - down) / 1000).toFixed(1);
        const readCounts: Record<number, number> = {};
        for (const status of readStatuses) readCounts[status] = (readCounts[status] ?? 0) + 1;
        process.stdout.write(
          `${describeOutcome(`PostgreSQL ${what} for ${outage} s under load`, report, Date.now() - started)}; ` +
            `answers to submissions: ${JSON.stringify(load.statusCounts())}, to reads: ${JSON.stringify(readCounts)}\n`,
        );
        // Acknowledged or refused with 503, and always answered: never a 500.
        expect(Object.keys(load.statusCounts()).sort()).toEqual(['202', '503']);
        expect(new Set(readStatuses)).toEqual(new Set([200, 503]));
        expect(acknowledgedBefore.length).toBeGreaterThan(0);
        expect(report.violations).toEqual([]);
        // The same processes did it all: nothing was restarted to recover, and all say they are ready.
        await waitFor('the api and the workers to be ready again', async () => {
          const answers = await Promise.all([stack.http.get('/ready'), fetch(`http://127.0.0.1:${workerPort}/ready`)]);
          return answers.every((answer) => answer.status === 200);
        });
        for (const process of [api, ...workers]) expect(process.running).toBe(true);
        expect(stack.workers).toHaveLength(2);
      } catch (error) {
        // An app that died (an unhandled error) is the cause to name, not a readiness check that failed.
        const exited = stack.exitedApps();
        if (exited && error instanceof Error) error.message += `\n${exited}`;
        throw error;
      } finally {
        // A failed expectation must not leave the load and the reader going for ever.
        await running.load?.stop();
        await running.reads?.stop();
        await stack.teardown();
      }
    },
  );
});

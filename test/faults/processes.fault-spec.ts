import {
  AppProcess,
  FakeLlmServer,
  FaultServers,
  HttpClient,
  SubmissionLoad,
  TestStack,
  addFaultCorpus,
  describeOutcome,
  faultQuestion,
  freePort,
  installResearchResponders,
  settleResearches,
  waitFor,
} from '@app/testing';

/** Log lines that end a run in the worker that started it. */
const RUN_ENDS = new Set([
  'research completed',
  'research failed',
  'research stopped',
  'research handed back for another worker',
  'research attempt failed; will retry',
  'research finished but was no longer ours; result discarded',
]);

/** Researches this worker started and had not finished, by its own log. */
function runsInFlight(worker: AppProcess): string[] {
  const open = new Set<string>();
  for (const line of worker.lines) {
    const id = line.research_id as string | undefined;
    if (!id) continue;
    if (line.message === 'research started') open.add(id);
    else if (RUN_ENDS.has(line.message)) open.delete(id);
  }
  return [...open];
}

/**
 * Processes killed and stopped under load. The researches run on the deep engine against a fake
 * LLM that answers each call in 100 ms, so a research takes about a second and a signal finds
 * runs in progress, as it does in production where a research takes minutes.
 */
describe('fault: api and worker processes under load', () => {
  let servers: FaultServers;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    servers = await FaultServers.start();
    llm = await FakeLlmServer.start({ models: ['qwen-72b'], latencyMs: 100 });
    installResearchResponders(llm);
  });

  afterAll(async () => {
    await servers?.destroy();
    await llm?.stop();
  });

  async function deepStack(label: string, apiEnv: Record<string, string> = {}): Promise<TestStack> {
    const stack = await servers.stack(label, {
      LLM_BASE_URL: llm.baseUrl,
      LLM_API_KEY: 'sk-test',
      LLM_CACHE_TTL_SECONDS: '0',
      LLM_MAX_CONCURRENCY: '64',
    });
    await stack.startApi(apiEnv);
    await addFaultCorpus(stack);
    return stack;
  }

  it('completes every research exactly once when workers are killed with SIGKILL twice, two running', async () => {
    const started = Date.now();
    const stack = await deepStack('sigkill');
    try {
      const [first, second] = [await stack.startWorker(), await stack.startWorker()];
      const load = SubmissionLoad.start({
        targets: () => [stack.http],
        count: 40,
        intervalMs: 100,
        question: faultQuestion,
      });

      const interrupted: string[] = [];
      for (const [victim, after] of [
        [first, 10],
        [second, 25],
      ] as const) {
        await load.waitForAcknowledged(after);
        await waitFor('the worker to be running researches', () => runsInFlight(victim).length > 0, 30000, 10);
        victim.kill('SIGKILL');
        expect((await victim.waitForExit()).signal).toBe('SIGKILL');
        // Runs the victim's log shows started and not ended. Its last lines may be lost with it, so
        // a run that committed its result just before the kill can look open: what PostgreSQL
        // still holds as running is what the kill interrupted.
        const [stillRunning] = await stack.database.query<{ ids: string[] }>(
          `SELECT coalesce(array_agg(id::text), '{}') AS ids FROM researches WHERE id = ANY($1::uuid[]) AND status = 'running'`,
          [runsInFlight(victim)],
        );
        interrupted.push(...stillRunning!.ids);
        await stack.startWorker();
      }
      await load.finished();

      const report = await settleResearches(stack.database, load.acknowledged, { timeoutMs: 90000, http: stack.http });
      process.stdout.write(`${describeOutcome('worker SIGKILL twice, two workers', report, Date.now() - started)}\n`);
      // Every submission was acknowledged: none refused, failed or left without an answer.
      expect(load.statusCounts()).toEqual({ '202': load.acknowledged.length });
      expect(report.violations).toEqual([]);
      // The kills did interrupt runs, and those were run again by the other workers.
      expect(interrupted.length).toBeGreaterThan(0);
      const reruns = await stack.database.query<{ id: string; attempts: number }>(
        `SELECT id, attempts FROM researches WHERE id = ANY($1::uuid[])`,
        [interrupted],
      );
      expect(reruns.filter((row) => row.attempts < 2)).toEqual([]);
    } finally {
      await stack.teardown();
    }
  });

  it('completes every research when a worker is stopped with SIGTERM and replaced under load', async () => {
    const started = Date.now();
    const stack = await deepStack('sigterm-worker');
    try {
      const victim = await stack.startWorker();
      await stack.startWorker();
      const load = SubmissionLoad.start({
        targets: () => [stack.http],
        count: 30,
        intervalMs: 100,
        question: faultQuestion,
      });
      await load.waitForAcknowledged(12);
      await waitFor('the worker to be running researches', () => runsInFlight(victim).length > 0, 30000, 10);
      victim.kill('SIGTERM');
      const draining = runsInFlight(victim);
      await stack.startWorker();
      expect(await victim.waitForExit(20000)).toEqual({ code: 0, signal: null });
      await load.finished();

      const report = await settleResearches(stack.database, load.acknowledged, { timeoutMs: 60000, http: stack.http });
      process.stdout.write(`${describeOutcome('worker SIGTERM under load, replaced', report, Date.now() - started)}\n`);
      // Every submission was acknowledged: none refused, failed or left without an answer.
      expect(load.statusCounts()).toEqual({ '202': load.acknowledged.length });
      expect(report.violations).toEqual([]);
      // The runs in progress at the signal were finished by the stopping worker itself.
      expect(draining.length).toBeGreaterThan(0);
      const finishedByVictim = victim.lines
        .filter((line) => line.message === 'research completed')
        .map((line) => line.research_id);
      expect(draining.filter((id) => !finishedByVictim.includes(id))).toEqual([]);
    } finally {
      await stack.teardown();
    }
  });

  it('answers every submission and completes every research when an api is stopped with SIGTERM and replaced', async () => {
    const started = Date.now();
    // Readiness turns 503 this long before the api stops accepting connections.
    const readyDelay = { SHUTDOWN_READY_DELAY_MS: '1500' };
    const stack = await deepStack('sigterm-api', readyDelay);
    try {
      await stack.startWorker();
      await stack.startWorker();
      // A second api behind the same "load balancer", which sends only to apis that are ready.
      const secondPort = await freePort();
      const second = await AppProcess.startServing(
        'api',
        { ...stack.env, ...readyDelay, PORT: String(secondPort) },
        secondPort,
      );
      const apis: HttpClient[] = [stack.http, new HttpClient(`http://127.0.0.1:${secondPort}`)];
      try {
        const load = SubmissionLoad.start({ targets: () => apis, count: 40, intervalMs: 50, question: faultQuestion });
        await load.waitForAcknowledged(12);

        const victim = stack.api!;
        const signalled = Date.now();
        victim.kill('SIGTERM');
        // A load balancer notices on its next readiness probe: until then submissions still reach
        // the stopping api, which must answer them.
        const sentWhileStopping = () =>
          load.attempts.filter((attempt) => attempt.target === stack.http.baseUrl && attempt.at >= signalled);
        await waitFor(
          'the stopping api to be sent submissions and to turn not ready',
          async () => sentWhileStopping().length > 0 && (await stack.http.get('/ready')).status === 503,
        );
        apis.splice(apis.indexOf(stack.http), 1);
        expect(await victim.waitForExit(20000)).toEqual({ code: 0, signal: null });

        await stack.startApi(readyDelay);
        apis.push(stack.http);
        await load.finished();

        const report = await settleResearches(stack.database, load.acknowledged, {
          timeoutMs: 60000,
          http: stack.http,
        });
        process.stdout.write(`${describeOutcome('api SIGTERM under load, replaced', report, Date.now() - started)}\n`);
        // Not one submission was refused or failed: the stopping api drained what it had.
        expect(load.statusCounts()).toEqual({ '202': load.acknowledged.length });
        expect(sentWhileStopping().map((attempt) => attempt.status)).toContain(202);
        expect(report.violations).toEqual([]);
      } finally {
        await second.stop();
      }
    } finally {
      await stack.teardown();
    }
  });
});

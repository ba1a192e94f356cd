import {
  FakeLlmFault,
  FakeLlmServer,
  FaultServers,
  SubmissionLoad,
  addFaultCorpus,
  describeOutcome,
  faultQuestion,
  injectFaultMix,
  installResearchResponders,
  settleResearches,
} from '@app/testing';

const LLM_TIMEOUT_MS = 500;

/**
 * The deep engine against an LLM endpoint that misbehaves for a share of its calls: rate limits,
 * server errors, and calls that never answer (cut by the client's timeout). Each failure is
 * retried, so every research completes.
 */
describe('fault: the LLM fails a share of its calls', () => {
  let servers: FaultServers;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    servers = await FaultServers.start();
    llm = await FakeLlmServer.start({ models: ['qwen-72b'], latencyMs: 50 });
    installResearchResponders(llm);
  });

  afterAll(async () => {
    await servers?.destroy();
    await llm?.stop();
  });

  it('completes every research when a quarter of the LLM calls answer 429, 500 or time out', async () => {
    const started = Date.now();
    const stack = await servers.stack('llm-faults', {
      LLM_BASE_URL: llm.baseUrl,
      LLM_API_KEY: 'sk-test',
      LLM_TIMEOUT_MS: String(LLM_TIMEOUT_MS),
      LLM_MAX_RETRIES: '3',
      LLM_MAX_CONCURRENCY: '64',
      // Every call reaches the endpoint: none is answered from the cache.
      LLM_CACHE_TTL_SECONDS: '0',
    });
    try {
      await stack.startApi();
      await addFaultCorpus(stack);
      await stack.startWorker();
      await stack.startWorker();

      llm.reset();
      const faults: Record<string, FakeLlmFault> = {
        rateLimited: { status: 429, retryAfter: 0.2 },
        serverError: { status: 500 },
        timedOut: { hang: true },
      };
      const injections = injectFaultMix(llm, {
        share: 0.25,
        faults: Object.values(faults),
        calls: 5000,
        seed: 20260601,
      });

      const load = SubmissionLoad.start({
        targets: () => [stack.http],
        count: 32,
        intervalMs: 50,
        question: faultQuestion,
      });
      await load.finished();
      const report = await settleResearches(stack.database, load.acknowledged, { timeoutMs: 120000, http: stack.http });

      const hits = Object.fromEntries(
        Object.entries(faults).map(([name, fault]) => [
          name,
          injections
            .filter((injection) => injection.fault === fault)
            .reduce((sum, injection) => sum + injection.hits, 0),
        ]),
      );
      const partial = await stack.database.query<{ id: string; reason: string }>(
        `SELECT id, result->>'partial_reason' AS reason FROM researches
          WHERE id = ANY($1::uuid[]) AND (result->>'partial')::boolean`,
        [load.acknowledged],
      );
      process.stdout.write(
        `${describeOutcome('LLM fails a quarter of its calls', report, Date.now() - started)}; ` +
          `${llm.calls.length} LLM calls, faults hit: ${JSON.stringify(hits)}, partial reports: ${partial.length}\n`,
      );
      // Every submission was acknowledged: none refused, failed or left without an answer.
      expect(load.statusCounts()).toEqual({ '202': load.acknowledged.length });
      expect(report.violations).toEqual([]);
      // Every kind of fault happened, more than once.
      for (const name of Object.keys(faults)) expect(hits[name]).toBeGreaterThan(1);
      // Retries made up for nearly every fault. A call that failed every retry left out one
      // source (or turned the report into the evidence list), and the report says so: no
      // research failed, and no budget was cut short.
      for (const { reason } of partial)
        expect(['sources_skipped', 'writer_failed', 'verifier_failed']).toContain(reason);
      expect(partial.length).toBeLessThanOrEqual(load.acknowledged.length / 4);
    } finally {
      await stack.teardown();
    }
  });

  it('holds every research through an LLM outage longer than the old retry window, and completes them all after it', async () => {
    const started = Date.now();
    const stack = await servers.stack('llm-outage', {
      LLM_BASE_URL: llm.baseUrl,
      LLM_API_KEY: 'sk-test',
      LLM_TIMEOUT_MS: '2000',
      LLM_MAX_RETRIES: '3',
      LLM_MAX_CONCURRENCY: '64',
      LLM_CACHE_TTL_SECONDS: '0',
      LLM_CIRCUIT_FAILURES: '5',
      LLM_CIRCUIT_COOLDOWN_MS: '500',
      LLM_CIRCUIT_MAX_COOLDOWN_MS: '2000',
      RESEARCH_ATTEMPTS: '3',
    });
    try {
      await stack.startApi();
      await addFaultCorpus(stack);
      await stack.startWorker();
      await stack.startWorker();

      llm.reset();
      const load = SubmissionLoad.start({
        targets: () => [stack.http],
        count: 32,
        intervalMs: 50,
        question: faultQuestion,
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Down: every call and every probe answers 500. The old retry window (4 tries of each of 3
      // attempts, with backoff) was about 12 s with these settings; the outage lasts 20 s.
      const outage = llm.inject({ status: 500 }, { times: Infinity });
      const outageStarted = Date.now();
      await load.finished();
      // A timer may fire a millisecond before Date.now() says its time has come: wait until it has.
      while (Date.now() - outageStarted < 20000) {
        await new Promise((resolve) => setTimeout(resolve, 20000 - (Date.now() - outageStarted) + 1));
      }
      const probes = llm.calls.filter((call) => call.schemaName === undefined).length;
      const failedCalls = outage.hits;
      const heldFor = Date.now() - outageStarted;
      llm.reset();

      const report = await settleResearches(stack.database, load.acknowledged, { timeoutMs: 120000, http: stack.http });
      const events = await stack.database.query<{ type: string; n: string }>(
        `SELECT type, count(*) AS n FROM research_events WHERE research_id = ANY($1::uuid[]) GROUP BY type`,
        [load.acknowledged],
      );
      const count = (type: string) => Number(events.find((e) => e.type === type)?.n ?? 0);
      process.stdout.write(
        `${describeOutcome('LLM down for 20 s', report, Date.now() - started)}; outage held ${heldFor} ms, ` +
          `${failedCalls} calls failed, ${probes} probes, ${count('research.handed_back')} hand-backs, ` +
          `${count('research.retry_scheduled')} retries scheduled\n`,
      );
      expect(load.statusCounts()).toEqual({ '202': load.acknowledged.length });
      expect(load.acknowledged.length).toBeGreaterThanOrEqual(30);
      // Every research completed exactly once: the outage cost time, not researches.
      expect(report.violations).toEqual([]);
      expect(count('research.failed')).toBe(0);
      expect(heldFor).toBeGreaterThanOrEqual(20000);
      // Work was handed back while the circuit was open, and the endpoint was probed meanwhile.
      expect(count('research.handed_back')).toBeGreaterThan(0);
      expect(probes).toBeGreaterThan(1);
    } finally {
      await stack.teardown();
    }
  });
});

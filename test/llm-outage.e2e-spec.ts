import {
  FakeLlmServer,
  TestStack,
  freePort,
  installResearchResponders,
  scrape,
  sleep,
  valueOf,
  waitFor,
} from '@app/testing';

/**
 * An LLM outage delays research; it does not fail it. The fake model answers 500 to every call
 * for longer than the retry window of a research (LLM retries times queue attempts); the
 * circuit opens, the workers stop taking work and hand back what they run, one worker probes,
 * and every research completes once the model answers again.
 */
describe('LLM outage', () => {
  let llm: FakeLlmServer;
  let stack: TestStack;
  const workers: string[] = [];

  beforeAll(async () => {
    llm = await FakeLlmServer.start({ models: ['qwen-72b'] });
    installResearchResponders(llm);
    stack = await TestStack.create({
      label: 'llmoutage',
      env: {
        LLM_BASE_URL: llm.baseUrl,
        LLM_MAX_RETRIES: '1',
        LLM_TIMEOUT_MS: '2000',
        LLM_CACHE_TTL_SECONDS: '0',
        LLM_CIRCUIT_FAILURES: '3',
        LLM_CIRCUIT_COOLDOWN_MS: '300',
        LLM_CIRCUIT_MAX_COOLDOWN_MS: '1000',
        RESEARCH_ATTEMPTS: '2',
        RESEARCH_BACKOFF_MS: '100',
      },
    });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    await stack.startApi();
    for (let i = 0; i < 2; i += 1) {
      const port = await freePort();
      await stack.startWorker({ WORKER_PORT: String(port) });
      workers.push(`http://127.0.0.1:${port}`);
    }
  });

  afterAll(async () => {
    await stack?.teardown();
    await llm?.stop();
  });

  it('holds every research through an outage longer than its retry window, and completes them all after', async () => {
    const outage = llm.inject({ status: 500 }, { times: Infinity });
    const questions = [
      'HBM supply 2024',
      'AI chip export controls',
      'lithium battery supply 2024',
      'NVIDIA market share',
    ];
    const ids = await Promise.all(questions.map((question) => stack.submit({ question, language: 'en' })));

    // The circuit opens, and both workers stop taking research.
    for (const worker of workers) {
      await waitFor(
        'the worker to hold its intake',
        async () => {
          const { samples } = await scrape(worker);
          return (
            valueOf(samples, 'llm_circuit_open') === 1 &&
            valueOf(samples, 'research_intake_paused', { reason: 'llm_unavailable' }) === 1
          );
        },
        20000,
      );
    }
    // Longer than the old window of 2 tries times 2 attempts with backoff, a few seconds here.
    await sleep(12000);
    expect(outage.hits).toBeGreaterThan(3);
    for (const id of ids) expect((await stack.research(id)).status).not.toMatch(/failed|completed/);
    // The workers are healthy; the model is not.
    for (const worker of workers) expect((await fetch(`${worker}/ready`)).status).toBe(200);
    const probes = llm.calls.filter((call) => call.schemaName === undefined);
    expect(probes.length).toBeGreaterThan(1);

    llm.reset();
    const done = await Promise.all(ids.map((id) => stack.waitForStatus(id, ['completed', 'failed'], 40000)));
    expect(done.map((research) => research.status)).toEqual(ids.map(() => 'completed'));
    for (const research of done) expect(research.result).toMatchObject({ engine: 'deep', partial: false });

    // Work was handed back, not failed: no attempt was spent on the outage.
    const events = await stack.database.query<{ type: string; data: Record<string, unknown> }>(
      `SELECT type, data FROM research_events WHERE research_id = ANY($1) ORDER BY research_id, seq`,
      [ids],
    );
    expect(events.filter((e) => e.type === 'research.failed')).toEqual([]);
    expect(events.filter((e) => e.type === 'research.retry_scheduled')).toEqual([]);
    const handedBack = events.filter((e) => e.type === 'research.handed_back');
    expect(handedBack.length).toBeGreaterThan(0);
    expect(handedBack[0]?.data).toMatchObject({ code: 'dependency_unavailable' });
    expect(events.filter((e) => e.type === 'research.completed')).toHaveLength(ids.length);

    for (const worker of workers) {
      const { samples } = await scrape(worker);
      expect(valueOf(samples, 'llm_circuit_open')).toBe(0);
      expect(valueOf(samples, 'research_intake_paused')).toBe(0);
    }
    const opened = stack.workers.flatMap((w) => w.lines.filter((l) => l.message.startsWith('llm circuit opened')));
    expect(opened.length).toBeGreaterThan(0);
  });
});

import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  AppProcess,
  FakeLlmServer,
  HttpClient,
  HttpResponse,
  TestStack,
  errorShapeProblem,
  freePort,
  installResearchResponders,
  scrape,
  sleep,
  valueOf,
  waitFor,
} from '@app/testing';

interface SubQuestion {
  question: string;
  queries: string[];
}

const QUESTION = 'lithium battery supply 2024';

/**
 * Plan review through api + worker + PostgreSQL + Redis with the deep engine against the fake
 * LLM: a research asked with `review_plan` stops after planning, before any source is searched
 * or read, and runs the plan its caller accepts or edits.
 */
describe('plan review', () => {
  let llm: FakeLlmServer;
  let stack: TestStack;
  /** A webhook receiver: the events it was sent, with the research's status in each. */
  let receiver: Server;
  const received: { event: string; researchId: string; status: string }[] = [];
  const callbackUrl = () => `http://localhost:${(receiver.address() as AddressInfo).port}/hook`;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        const sent = JSON.parse(body) as { event: string; research: { research_id: string; status: string } };
        received.push({ event: sent.event, researchId: sent.research.research_id, status: sent.research.status });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    llm = await FakeLlmServer.start({ models: ['qwen-72b'] });
    installResearchResponders(llm);
    stack = await TestStack.create({
      label: 'plan-review',
      env: {
        LLM_BASE_URL: llm.baseUrl,
        LLM_API_KEY: 'sk-test',
        LLM_CACHE_TTL_SECONDS: '0',
        RESEARCH_DEPTH: '1',
        WEBHOOK_ALLOWED_HOSTS: 'localhost',
      },
    });
    await stack.startApi();
    for (let i = 1; i <= 3; i += 1) {
      await stack.addDocument({
        title: `Lithium battery supply note ${i}`,
        text: `Lithium battery supply tightened in region ${i} during 2024. Battery makers reported lithium prices falling.`,
      });
    }
    // Found only by the edited plan's query: none of its words but "battery" is in the question.
    await stack.addDocument({
      title: 'Sodium-ion cell note',
      text: 'Sodium-ion cells entered mass production at CATL in late 2023. Their cost is below that of lithium cells.',
    });
    await stack.startWorker();
  });

  beforeEach(() => llm.reset());

  afterAll(async () => {
    await stack?.teardown();
    await llm?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  const events = (id: string) =>
    stack.database.query<{ type: string; data: Record<string, any> }>(
      `SELECT type, data FROM research_events WHERE research_id = $1 ORDER BY seq`,
      [id],
    );
  const planUnderReview = async (id: string): Promise<SubQuestion[]> =>
    (await events(id)).find((e) => e.type === 'plan.awaiting_review')!.data.plan.sub_questions;
  const workerUrl = (worker: AppProcess) =>
    `http://127.0.0.1:${worker.lines.find((l) => l.message === 'worker started')!.port as number}`;
  const awaitingReviewGauge = async (worker: AppProcess) =>
    valueOf((await scrape(workerUrl(worker))).samples, 'research_awaiting_review');

  async function submitForReview(question = QUESTION, extra: Record<string, unknown> = {}): Promise<string> {
    const id = await stack.submit({ question, review_plan: true, depth: 1, max_sources: 5, language: 'en', ...extra });
    await stack.waitForStatus(id, ['awaiting_review']);
    return id;
  }

  function expectError(response: HttpResponse, status: number, code: string): void {
    expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
    expect(errorShapeProblem(response.body)).toBeUndefined();
  }

  it('stops after planning, then runs the plan as edited without planning again', async () => {
    const id = await submitForReview(QUESTION, { callback_url: callbackUrl() });
    // Its callback hears that the plan waits for review.
    await waitFor('the awaiting_review webhook', () => received.some((r) => r.researchId === id) || undefined);
    expect(received.filter((r) => r.researchId === id)).toEqual([
      { event: 'plan.awaiting_review', researchId: id, status: 'awaiting_review' },
    ]);

    // Waiting: the plan is made and shown; nothing is searched or read.
    const waiting = await stack.research(id);
    expect(waiting).toMatchObject({ status: 'awaiting_review', review_plan: true, result: null });
    expect(waiting.progress).toMatchObject({ stage: 'awaiting_review', sources_found: 0, sources_read: 0 });
    const planned = await planUnderReview(id);
    expect(planned).toHaveLength(3);
    // The plan to review, in the shape POST …/plan takes.
    const shown = await stack.http.get(`/api/v1/research/${id}/plan`);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({
      research_id: id,
      status: 'awaiting_review',
      reviewed: false,
      fallback: false,
      sub_questions: planned,
    });
    expect((await events(id)).find((e) => e.type === 'plan.awaiting_review')!.data.fallback).toBe(false);
    expect(llm.callsFor('research_plan')).toHaveLength(1);
    expect(llm.calls).toHaveLength(1);
    expect(await stack.database.query('SELECT n FROM research_sources WHERE research_id = $1', [id])).toEqual([]);
    const listed = await stack.http.get('/api/v1/research?status=awaiting_review');
    expect(listed.body.items.map((item: { research_id: string }) => item.research_id)).toEqual([id]);
    const worker = stack.workers[0]!;
    await worker.waitForLog('the wait', (l) => l.research_id === id && l.message === 'research awaiting plan review');
    expect(await awaitingReviewGauge(worker)).toBe(1);

    const edited: SubQuestion[] = [
      planned[0]!,
      { question: 'Which sodium-ion cells entered production?', queries: ['sodium-ion cells CATL'] },
      planned[2]!,
    ];
    const reviewed = await stack.http.post(`/api/v1/research/${id}/plan`, { sub_questions: edited });
    expect(reviewed.status).toBe(202);
    expect(reviewed.body).toMatchObject({ research_id: id, status: 'pending' });
    expect(reviewed.headers.get('location')).toBe(`/api/v1/research/${id}`);
    await stack.api!.waitForLog(
      'the review',
      (l) => l.research_id === id && l.message === 'plan reviewed; research continues',
    );

    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    expect(research.result.plan).toEqual({ sub_questions: edited });
    expect((await stack.http.get(`/api/v1/research/${id}/plan`)).body).toMatchObject({
      status: 'completed',
      reviewed: true,
      sub_questions: edited,
    });
    // What was searched is the question and the edited plan's queries (each once), and what only
    // the edited query finds was read.
    const queries = [...new Set([QUESTION, ...edited.flatMap((sub) => sub.queries)])];
    expect(queries).toContain('sodium-ion cells CATL');
    expect(research.result.rounds[0].queries).toEqual(queries);
    const searched = (await events(id)).filter((e) => e.type === 'stage.started' && e.data.stage === 'search');
    expect(searched.map((e) => e.data.queries)).toEqual([queries]);
    expect(research.result.sources.map((s: { title: string }) => s.title)).toContain('Sodium-ion cell note');
    expect(llm.callsFor('research_plan')).toHaveLength(1);
    expect(llm.callsFor('source_findings').length).toBeGreaterThan(0);
    expect(research.result.usage.stages.planner.calls).toBe(1);
    expect((await events(id)).map((e) => e.type)).toEqual(
      expect.arrayContaining(['plan.awaiting_review', 'plan.reviewed', 'research.completed']),
    );
    expect((await events(id)).find((e) => e.type === 'plan.reviewed')!.data).toEqual({
      edited: true,
      plan: { sub_questions: edited },
    });
    // The run that planned stopped for the review; the run that finished is the second.
    expect(research.attempts).toBe(2);
    await waitFor('the completed webhook', () => received.filter((r) => r.researchId === id).length === 2 || undefined);
    expect(received.filter((r) => r.researchId === id).map((r) => [r.event, r.status])).toEqual([
      ['plan.awaiting_review', 'awaiting_review'],
      ['research.completed', 'completed'],
    ]);
    expect(await awaitingReviewGauge(worker)).toBe(0);
  });

  it('takes a plan only from a research awaiting review of its tenant, and names what is wrong with one', async () => {
    const completed = (await stack.http.get('/api/v1/research?status=completed')).body.items[0].research_id;
    const conflict = await stack.http.post(`/api/v1/research/${completed}/plan`, {});
    expectError(conflict, 409, 'research_not_awaiting_review');
    expect(conflict.body.error.details).toEqual({ status: 'completed' });

    llm.inject({ hang: true }, { schema: 'research_plan' });
    const running = await stack.submit({ question: 'planning that hangs', review_plan: true, depth: 1 });
    await waitFor('the planner call', () => llm.callsFor('research_plan').length === 1, 10000);
    const busy = await stack.http.post(`/api/v1/research/${running}/plan`);
    expectError(busy, 409, 'research_not_awaiting_review');
    expect(busy.body.error.details).toEqual({ status: 'running' });
    // Still planning: there is no plan to show yet.
    const none = await stack.http.get(`/api/v1/research/${running}/plan`);
    expectError(none, 404, 'not_found');
    expect(none.body.error.details).toEqual({ id: running, status: 'running' });
    expect((await stack.http.post(`/api/v1/research/${running}/cancel`)).status).toBe(200);

    llm.reset();
    const id = await submitForReview('HBM supply in 2024');
    const sub = (question: string, queries: unknown = ['a query']) => ({ question, queries });
    const invalid: [unknown, { field: string; message: string }[]][] = [
      [{ sub_questions: [] }, [{ field: 'sub_questions', message: 'sub_questions must contain at least 1 elements' }]],
      [
        { sub_questions: [sub('Who supplies HBM?', ['HBM suppliers', ''])] },
        [
          {
            field: 'sub_questions.0.queries',
            message:
              'each value in queries must be longer than or equal to 1 and shorter than or equal to 400 characters',
          },
        ],
      ],
      [
        { sub_questions: Array.from({ length: 7 }, (_, i) => sub(`sub-question ${i + 1}`)) },
        [{ field: 'sub_questions', message: 'sub_questions must contain no more than 6 elements' }],
      ],
      [
        { sub_questions: [sub('  ')] },
        [{ field: 'sub_questions.0.question', message: 'question must be longer than or equal to 1 characters' }],
      ],
    ];
    for (const [body, problems] of invalid) {
      const refused = await stack.http.post(`/api/v1/research/${id}/plan`, body);
      expectError(refused, 400, 'validation_failed');
      expect(refused.body.error.details).toEqual(problems);
    }

    // Another tenant's key does not see it: 404, as for every research of another tenant.
    const created = await stack.cli([
      'keys',
      'create',
      '--tenant',
      'other-team',
      '--scopes',
      'research:write,research:read',
    ]);
    expect(created.code).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1)!;
    const foreign = await stack.http.request('POST', `/api/v1/research/${id}/plan`, {
      json: {},
      headers: { authorization: `Bearer ${key}` },
    });
    expectError(foreign, 404, 'not_found');
    expectError(
      await stack.http.get(`/api/v1/research/${id}/plan`, { authorization: `Bearer ${key}` }),
      404,
      'not_found',
    );
    expect((await stack.research(id)).status).toBe('awaiting_review');

    // Its caller may cancel it instead.
    const cancelled = await stack.http.post(`/api/v1/research/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', result: null });
    expect((await events(id)).at(-1)).toEqual({ type: 'research.cancelled', data: {} });
    expectError(await stack.http.post(`/api/v1/research/${id}/plan`), 409, 'research_not_awaiting_review');
  });

  it('loses nothing when its worker is killed while it awaits review: not re-queued, not failed', async () => {
    const id = await submitForReview('lithium battery prices in 2024');
    const planned = await planUnderReview(id);
    const [doomed] = stack.workers.splice(0, 1);
    doomed!.kill('SIGKILL');
    expect((await doomed!.waitForExit()).signal).toBe('SIGKILL');
    const worker = await stack.startWorker();
    // Several reconciler passes after the grace period (500 ms and 1 s in tests).
    await sleep(2500);
    const waiting = await stack.research(id);
    expect(waiting).toMatchObject({ status: 'awaiting_review', attempts: 1, error: null });
    expect((await events(id)).map((e) => e.type)).not.toContain('research.requeued');
    expect(await awaitingReviewGauge(worker)).toBe(1);

    // No body: the plan as it was made.
    const reviewed = await stack.http.request('POST', `/api/v1/research/${id}/plan`);
    expect(reviewed.status).toBe(202);
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    expect(research.result.plan).toEqual({ sub_questions: planned });
    expect((await events(id)).find((e) => e.type === 'plan.reviewed')!.data.edited).toBe(false);
    expect(llm.callsFor('research_plan')).toHaveLength(1);
  });

  it('refuses review_plan when the engine makes no plan, naming the field', async () => {
    // An api of the same service without an LLM: the extractive engine.
    const port = await freePort();
    const extractive = await AppProcess.startServing(
      'api',
      { ...stack.env, LLM_BASE_URL: '', PORT: String(port) },
      port,
    );
    try {
      const refused = await new HttpClient(`http://127.0.0.1:${port}`).post('/api/v1/research', {
        question: QUESTION,
        review_plan: true,
      });
      expectError(refused, 400, 'validation_failed');
      expect(refused.body.error.details).toEqual([
        {
          field: 'review_plan',
          message:
            'review_plan needs the LLM engine (LLM_BASE_URL is not set): the extractive engine makes no plan to review',
        },
      ]);
    } finally {
      await extractive.stop();
    }
  });

  it('cancels a research whose plan waited longer than PLAN_REVIEW_TIMEOUT_SECONDS, saying why', async () => {
    await Promise.all(stack.workers.splice(0).map((worker) => worker.stop()));
    const worker = await stack.startWorker({ PLAN_REVIEW_TIMEOUT_SECONDS: '1' });
    const id = await submitForReview('lithium supply contracts');
    const research = await stack.waitForStatus(id, ['cancelled', 'completed', 'failed'], 10000);
    const error = {
      code: 'plan_review_timeout',
      message:
        'the plan waited for review longer than 1 s (PLAN_REVIEW_TIMEOUT_SECONDS) and the research was cancelled',
    };
    expect(research).toMatchObject({ status: 'cancelled', error, result: null });
    expect((await events(id)).at(-1)).toEqual({ type: 'research.cancelled', data: error });
    await worker.waitForLog(
      'the timeout',
      (l) => l.research_id === id && l.message === 'plan review timed out; research cancelled',
    );
    expect(llm.callsFor('source_findings')).toHaveLength(0);
    expectError(await stack.http.post(`/api/v1/research/${id}/plan`, {}), 409, 'research_not_awaiting_review');
  });
});

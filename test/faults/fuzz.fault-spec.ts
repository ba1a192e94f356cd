import { Agent } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import {
  HostileRequest,
  OpenApiDocument,
  RawResponse,
  TestStack,
  exchange,
  hostileRequests,
  socketExchange,
} from '@app/testing';

/**
 * Thousands of hostile requests generated from the api's own OpenAPI document: none may get a
 * 5xx or go unanswered, every 4xx comes in the common error shape, what is accepted is stored as
 * sent, and the api is still healthy afterwards. FUZZ_SEED repeats a run; FUZZ_REQUESTS sizes it.
 */
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = Number(process.env.FUZZ_REQUESTS ?? 3000);
const CONCURRENCY = 16;
/** Longer than any timeout of the api under test (2 s for bodies and headers, 6 s for Node's backstop). */
const CLIENT_TIMEOUT_MS = 15_000;
const BODY_LIMIT_BYTES = 64 * 1024;

interface Outcome {
  request: HostileRequest;
  response: RawResponse;
}

describe(`fuzz (seed ${SEED})`, () => {
  let stack: TestStack;
  let outcomes: Outcome[] = [];
  /** Sent with the requests to the admin endpoints, so that their validation is reached. */
  let adminKey = '';

  beforeAll(async () => {
    stack = await TestStack.create({
      label: 'fuzz',
      env: { DOCUMENT_MAX_BYTES: '4096', HTTP_BODY_TIMEOUT_MS: '2000', HTTP_HEADERS_TIMEOUT_MS: '2000' },
    });
    const created = await stack.cli(['keys', 'create', '--tenant', 'fuzz-admin', '--scopes', 'admin']);
    adminKey = created.stdout.trim().split('\n').at(-1) ?? '';
    await stack.startApi();
    const knownIds = [
      await stack.submit({ question: 'a research the fuzz test may read or cancel' }),
      await stack.addDocument({ title: 'seeded', text: 'A document the fuzz test may read or delete.' }),
    ];
    const document = (await stack.http.get<OpenApiDocument>('/docs-json')).body;
    const requests = hostileRequests(document, {
      seed: SEED,
      count: COUNT,
      knownIds,
      bodyLimitBytes: BODY_LIMIT_BYTES,
    });

    const started = Date.now();
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    outcomes = await inPool(requests, CONCURRENCY, async (request) => ({
      request,
      response: await send(request, agent),
    }));
    agent.destroy();

    const byStatus = new Map<number, number>();
    for (const { response } of outcomes) byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
    const counts = [...byStatus].sort(([a], [b]) => a - b).map(([status, n]) => `${status || 'none'}: ${n}`);
    process.stdout.write(
      `fuzz: seed ${SEED} (FUZZ_SEED=${SEED} repeats it), ${outcomes.length} requests in ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s; by status: ${counts.join(', ')}\n`,
    );
  }, 240_000);

  afterAll(async () => {
    await stack?.teardown();
  });

  function send(request: HostileRequest, agent: Agent): Promise<RawResponse> {
    if (request.socket) {
      return socketExchange(stack.apiPort, request.socket.chunks, {
        timeoutMs: CLIENT_TIMEOUT_MS,
        dripMs: request.socket.dripMs,
      });
    }
    const asAdmin =
      request.path.startsWith('/api/v1/admin/') &&
      !Object.keys(request.headers).some((name) => ['authorization', 'x-api-key'].includes(name.toLowerCase()));
    const sent = asAdmin
      ? { ...request, headers: { ...request.headers, authorization: `Bearer ${adminKey}` } }
      : request;
    return exchange(stack.apiPort, sent, { timeoutMs: CLIENT_TIMEOUT_MS, agent });
  }

  /** A body over the limit the server refused by closing the connection while it was being written. */
  function resetWhileSending({ request, response }: Outcome): boolean {
    return Boolean(request.mayReset) && /\b(EPIPE|ECONNRESET)\b|socket hang up/.test(response.failure ?? '');
  }

  /** The failures, each with what is needed to repeat it, for a readable assertion message. */
  function report(failures: { outcome: Outcome; problem: string }[]): string[] {
    return failures
      .slice(0, 20)
      .map(({ outcome: { request, response }, problem }) =>
        [
          `${problem} (seed ${SEED})`,
          `  ${request.label}`,
          `  ${request.method} ${request.path.slice(0, 200)}`,
          request.body !== undefined ? `  body: ${String(request.body).slice(0, 200)}` : '',
          `  answer: ${response.status} ${response.text.slice(0, 300)}`,
        ]
          .filter(Boolean)
          .join('\n'),
      );
  }

  it(`sent at least ${COUNT} requests built from every operation of the document`, () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(COUNT);
    const operations = new Set(outcomes.map(({ request }) => request.label.split(':')[0]));
    for (const operation of [
      'POST /api/v1/research',
      'GET /api/v1/research',
      'GET /api/v1/research/{id}',
      'POST /api/v1/research/{id}/cancel',
      'POST /api/v1/documents',
      'GET /api/v1/documents',
      'GET /api/v1/documents/{id}',
      'DELETE /api/v1/documents/{id}',
    ]) {
      expect(operations).toContain(operation);
    }
  });

  it('answered every request in time, none with a 5xx', () => {
    const failures = outcomes.flatMap((outcome) => {
      const { status, failure } = outcome.response;
      if (resetWhileSending(outcome)) return [];
      if (failure || status === 0) return [{ outcome, problem: `no answer: ${failure ?? 'no status line'}` }];
      return status >= 500 ? [{ outcome, problem: `answered ${status}` }] : [];
    });
    expect(report(failures)).toEqual([]);
  });

  it('answered every 4xx in the common error shape, with the request id of its header', () => {
    const failures = outcomes.flatMap((outcome) => {
      const { request, response } = outcome;
      if (response.status < 400 || response.status >= 500 || request.method === 'HEAD') return [];
      const problem = shapeProblem(response);
      return problem ? [{ outcome, problem }] : [];
    });
    expect(report(failures)).toEqual([]);
  });

  it('refused every request that its schema or HTTP rules out', () => {
    const failures = outcomes.flatMap((outcome) => {
      const { status } = outcome.response;
      const refused = (status >= 400 && status < 500) || resetWhileSending(outcome);
      return outcome.request.mustRefuse && !refused ? [{ outcome, problem: `accepted with ${status}` }] : [];
    });
    expect(report(failures)).toEqual([]);
    // Enough of them that the check means something.
    expect(outcomes.filter(({ request }) => request.mustRefuse).length).toBeGreaterThan(COUNT / 3);
  });

  /** The accepted POSTs to `path` with `status`, each with the body it sent, parsed. */
  function accepted(path: string, status: number): { outcome: Outcome; sent: Record<string, any> }[] {
    return outcomes
      .filter(
        ({ request, response }) => request.method === 'POST' && request.path === path && response.status === status,
      )
      .map((outcome) => ({
        outcome,
        // As the api reads it: a byte order mark is skipped.
        sent: JSON.parse(new TextDecoder().decode(Buffer.from(outcome.request.body ?? ''))) as Record<string, any>,
      }));
  }

  it('stored every document it accepted exactly as it was sent', async () => {
    const failures: { outcome: Outcome; problem: string }[] = [];
    for (const { outcome, sent } of accepted('/api/v1/documents', 201)) {
      const id = (outcome.response.json as { document_id: string }).document_id;
      const stored = (await stack.http.get(`/api/v1/documents/${id}`)).body;
      // An HTML document is stored as its readable text, titled by the page when no title is sent.
      const html = sent.format === 'html';
      const expected = {
        title: html && sent.title === undefined ? stored.title : sent.title.trim(),
        text: html ? stored.text : sent.text,
        url: sent.url ?? null,
        metadata: sent.metadata ?? {},
      };
      const actual = { title: stored.title, text: stored.text, url: stored.url, metadata: stored.metadata };
      if (!isDeepStrictEqual(actual, expected)) {
        failures.push({ outcome, problem: `stored ${JSON.stringify(actual).slice(0, 300)}` });
      }
    }
    expect(report(failures)).toEqual([]);
  });

  it('stored every research it accepted as it was sent', async () => {
    const failures: { outcome: Outcome; problem: string }[] = [];
    for (const { outcome, sent } of accepted('/api/v1/research', 202)) {
      // A replayed Idempotency-Key answers with the research stored the first time.
      if (outcome.response.headers['idempotent-replayed']) continue;
      const id = (outcome.response.json as { research_id: string }).research_id;
      const stored = await stack.research(id);
      const expected = {
        question: sent.question.trim(),
        max_sources: sent.max_sources ?? 10,
        verify: sent.verify ?? true,
        language: Intl.getCanonicalLocales(sent.language ?? 'en')[0],
        budget: { ...stored.budget, ...sent.budget },
        // The stack searches the corpus alone: it is the only provider a research can name or get.
        sources: ['corpus'],
      };
      const actual = {
        question: stored.question,
        max_sources: stored.max_sources,
        verify: stored.verify,
        language: stored.language,
        budget: stored.budget,
        sources: stored.sources,
      };
      if (!isDeepStrictEqual(actual, expected)) {
        failures.push({ outcome, problem: `stored ${JSON.stringify(actual).slice(0, 300)}` });
      }
    }
    expect(report(failures)).toEqual([]);
  });

  it('still answers /health and /ready, and accepts a normal research', async () => {
    expect((await stack.http.get('/health')).status).toBe(200);
    expect((await stack.http.get('/ready')).status).toBe(200);
    const id = await stack.submit({ question: 'Is the api still well after the fuzz test?', max_sources: 3 });
    expect(await stack.research(id)).toMatchObject({ status: 'pending', max_sources: 3 });
  });

  it('logged no unhandled error', () => {
    expect(stack.api!.lines.filter((line) => line.message === 'unhandled error')).toEqual([]);
  });
});

/** What is wrong with an error answer, or undefined when it has the common shape. */
function shapeProblem(response: RawResponse): string | undefined {
  const body = response.json as {
    error?: { code?: unknown; message?: unknown; details?: unknown };
    request_id?: unknown;
  };
  if (body === undefined) return `not a JSON error (${response.headers['content-type'] ?? 'no content-type'})`;
  if (Object.keys(body).sort().join() !== 'error,request_id') return `keys ${Object.keys(body).join()}`;
  const { error } = body;
  if (typeof error !== 'object' || error === null) return 'error is not an object';
  if (Object.keys(error).some((key) => !['code', 'message', 'details'].includes(key)))
    return `error keys ${Object.keys(error).join()}`;
  if (typeof error.code !== 'string' || !/^[a-z_]+$/.test(error.code)) return `code ${JSON.stringify(error.code)}`;
  if (typeof error.message !== 'string' || error.message.length === 0) return 'no message';
  if (error.details !== undefined && (typeof error.details !== 'object' || error.details === null))
    return 'bad details';
  if (typeof body.request_id !== 'string' || body.request_id !== response.headers['x-request-id']) {
    return `request_id ${JSON.stringify(body.request_id)} is not the X-Request-Id ${response.headers['x-request-id']}`;
  }
  return undefined;
}

/** Runs `work` on every item, `concurrency` at a time, keeping the order of the results. */
async function inPool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

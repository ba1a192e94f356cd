import Ajv2020 from 'ajv/dist/2020';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  InternalServerError,
  RateLimitError,
} from 'openai';
import { sleep, waitFor } from '../wait-for';
import { FakeLlmServer, fakeTokenCount } from './fake-llm.server';

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });

function schemaErrors(schema: Record<string, unknown>, value: unknown): string[] {
  const validate = ajv.compile(schema);
  return validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}

/** The error a call fails with; fails the test when it succeeds. */
async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, it succeeded');
}

/**
 * Under Jest, fetch's AbortError comes from Node's realm rather than the test's, so the SDK
 * cannot tell a timeout from a connection error (it reports `APIConnectionError`); outside Jest
 * it raises `APIConnectionTimeoutError`. Rethrowing the error from this realm restores that.
 */
const fetchInThisRealm = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
  fetch(input, init).catch((error: { name?: string; message?: string }) => {
    throw Object.assign(new Error(error.message), { name: error.name });
  });

const PLAN_SCHEMA = {
  type: 'object',
  properties: {
    queries: {
      type: 'array',
      minItems: 2,
      maxItems: 5,
      items: {
        type: 'object',
        properties: {
          query: { type: 'string', minLength: 12 },
          purpose: { type: 'string', enum: ['background', 'statistics', 'opinion'] },
        },
        required: ['query', 'purpose'],
        additionalProperties: false,
      },
    },
    rationale: { type: ['string', 'null'] },
  },
  required: ['queries', 'rationale'],
  additionalProperties: false,
};

const FINDINGS_SCHEMA = {
  type: 'object',
  $defs: {
    finding: {
      type: 'object',
      properties: {
        quote: { type: 'string', minLength: 1, maxLength: 400 },
        source: { type: 'integer', minimum: 1, maximum: 50 },
        relevance: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        kind: { const: 'quote' },
        page: { anyOf: [{ type: 'integer', minimum: 3 }, { type: 'null' }] },
        tags: { type: 'array', items: { type: 'string' }, minItems: 3, uniqueItems: true },
        skipped: { type: 'array', items: { type: 'string' }, maxItems: 0 },
      },
      required: ['quote', 'source', 'relevance', 'kind', 'page', 'tags', 'skipped'],
      additionalProperties: false,
    },
  },
  properties: {
    findings: { type: 'array', items: { $ref: '#/$defs/finding' } },
    verdict: { oneOf: [{ type: 'string', enum: ['supported', 'refuted'] }, { type: 'boolean' }] },
    complete: { type: 'boolean' },
    score: { type: 'integer', exclusiveMinimum: 10, multipleOf: 5 },
  },
  required: ['findings', 'verdict', 'complete', 'score'],
  additionalProperties: false,
};

const OUTLINE_SCHEMA = {
  type: 'object',
  $defs: {
    section: {
      type: 'object',
      properties: {
        heading: { type: 'string' },
        children: { type: 'array', items: { $ref: '#/$defs/section' } },
        parent: { anyOf: [{ $ref: '#/$defs/section' }, { type: 'null' }] },
      },
      required: ['heading', 'children', 'parent'],
      additionalProperties: false,
    },
  },
  properties: { root: { $ref: '#/$defs/section' }, language: { type: 'string', pattern: '^[a-z]{2}-[A-Z]{2}$' } },
  required: ['root'],
  additionalProperties: false,
};

describe('FakeLlmServer', () => {
  let server: FakeLlmServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await FakeLlmServer.start({ models: ['model-a', 'model-b'] });
    client = new OpenAI({ baseURL: server.baseUrl, apiKey: 'test', maxRetries: 0 });
  });

  afterAll(() => server.stop());

  afterEach(() => server.reset({ responders: true }));

  function structured(
    name: string,
    schema: Record<string, unknown>,
    options: { model?: string; question?: string; timeout?: number; signal?: AbortSignal } = {},
  ): Promise<OpenAI.Chat.Completions.ChatCompletion> {
    return client.chat.completions.create(
      {
        model: options.model ?? 'model-a',
        messages: [
          { role: 'system', content: 'Answer in JSON.' },
          { role: 'user', content: options.question ?? 'What changed in 2024?' },
        ],
        response_format: { type: 'json_schema', json_schema: { name, schema, strict: true } },
        max_completion_tokens: 321,
      },
      // the SDK refuses an explicit `timeout: undefined`
      {
        ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
    );
  }

  function contentOf(completion: OpenAI.Chat.Completions.ChatCompletion): string {
    return completion.choices[0].message.content ?? '';
  }

  it('serves on 127.0.0.1 under /v1 and lists its models', async () => {
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = await client.models.list();
    expect(models.data.map((model) => [model.id, model.object, model.owned_by])).toEqual([
      ['model-a', 'model', 'fake-llm'],
      ['model-b', 'model', 'fake-llm'],
    ]);
    expect(typeof models.data[0].created).toBe('number');
  });

  it('answers a request without a JSON schema with plain text and deterministic usage', async () => {
    const completion = await client.chat.completions.create({
      model: 'model-b',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello.' },
      ],
    });
    const content = 'Fake reply 1 from model-b.';
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('model-b');
    expect(completion.choices).toEqual([
      expect.objectContaining({ index: 0, message: expect.objectContaining({ role: 'assistant', content }) }),
    ]);
    expect(completion.choices[0].finish_reason).toBe('stop');
    // 'Be brief.' + 'Say hello.' is 19 characters: 5 tokens; the 26-character reply is 7
    expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });
    expect(fakeTokenCount(content)).toBe(7);
  });

  it('replies with the registered responder, which sees the request', async () => {
    const seen: unknown[] = [];
    server.respond('plan', (request) => {
      seen.push({ ...request });
      return {
        queries: [
          { query: `first query for ${request.model}`, purpose: 'background' },
          { query: 'a second query here', purpose: 'opinion' },
        ],
        rationale: `call ${request.call}`,
      };
    });
    const completion = await structured('plan', PLAN_SCHEMA, { question: 'chips?' });
    const reply = JSON.parse(contentOf(completion));
    expect(reply.queries[0].query).toBe('first query for model-a');
    expect(reply.rationale).toBe('call 1');
    expect(schemaErrors(PLAN_SCHEMA, reply)).toEqual([]);
    expect(seen).toEqual([
      {
        model: 'model-a',
        messages: [
          { role: 'system', content: 'Answer in JSON.' },
          { role: 'user', content: 'chips?' },
        ],
        schema: PLAN_SCHEMA,
        schemaName: 'plan',
        maxTokens: 321,
        call: 1,
        index: 1,
      },
    ]);
    expect(completion.usage?.completion_tokens).toBe(Math.ceil(contentOf(completion).length / 4));
    expect(completion.usage?.prompt_tokens).toBe(Math.ceil('Answer in JSON.chips?'.length / 4));
  });

  it.each([
    ['plan', PLAN_SCHEMA],
    ['findings', FINDINGS_SCHEMA],
    ['outline', OUTLINE_SCHEMA],
  ])('builds a valid instance of the %s schema when no responder is registered', async (name, schema) => {
    const reply = JSON.parse(contentOf(await structured(name, schema)));
    expect(schemaErrors(schema, reply)).toEqual([]);
  });

  it('builds minimal instances: minItems, exits of recursion, bounds and patterns', async () => {
    const plan = JSON.parse(contentOf(await structured('plan', PLAN_SCHEMA)));
    expect(plan.queries).toHaveLength(2);
    expect(plan.queries[0].query.length).toBeGreaterThanOrEqual(12);
    expect(plan.rationale).not.toBeNull();

    const findings = JSON.parse(contentOf(await structured('findings', FINDINGS_SCHEMA)));
    expect(findings.findings).toHaveLength(1);
    const [finding] = findings.findings;
    expect(new Set(finding.tags).size).toBe(3);
    expect(finding).toMatchObject({ kind: 'quote', skipped: [], page: 3, source: 1 });
    expect(finding.relevance).toBeGreaterThan(0);
    expect(findings.score).toBe(15);

    const outline = JSON.parse(contentOf(await structured('outline', OUTLINE_SCHEMA)));
    expect(outline.root.heading).toEqual(expect.any(String));
    expect(outline).not.toHaveProperty('language');
  });

  it('answers 429 with Retry-After, which the SDK raises as RateLimitError', async () => {
    const injection = server.inject({ status: 429, retryAfter: 7 }, { schema: 'plan' });
    const error = await failure(structured('plan', PLAN_SCHEMA));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.status).toBe(429);
    expect(error.headers.get('retry-after')).toBe('7');
    expect(error.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    // once by default: the retry goes through
    await expect(structured('plan', PLAN_SCHEMA)).resolves.toMatchObject({ object: 'chat.completion' });
    expect(injection.hits).toBe(1);
    expect(server.callsFor('plan').map((call) => call.status)).toEqual([429, 200]);
  });

  it('answers 500 with an OpenAI-style error body', async () => {
    server.inject({ status: 500 });
    const error = await failure(structured('plan', PLAN_SCHEMA));
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error.status).toBe(500);
    expect(error.error).toEqual({
      message: expect.stringContaining('server had an error'),
      type: 'server_error',
      param: null,
      code: 'internal_error',
    });
    expect(server.calls[0]).toMatchObject({ status: 500, content: undefined, error: expect.any(String) });
  });

  it('applies a fault to the nth call of a schema, as many times as asked', async () => {
    server.inject({ status: 503 }, { schema: 'plan', call: 2, times: 2 });
    const statuses: number[] = [];
    for (const name of ['plan', 'other', 'plan', 'plan', 'plan']) {
      const outcome = await structured(name, PLAN_SCHEMA).then(
        () => 200,
        (error: unknown) => (error instanceof APIError ? (error.status ?? -1) : -2),
      );
      statuses.push(outcome);
    }
    expect(statuses).toEqual([200, 200, 503, 503, 200]);
    expect(server.callsFor('plan').map((call) => call.call)).toEqual([1, 2, 3, 4]);
  });

  it('sends content that is not JSON, or JSON of the wrong shape', async () => {
    server.inject({ invalidJson: true });
    server.inject({ wrongShape: true });
    const invalid = contentOf(await structured('plan', PLAN_SCHEMA));
    expect(() => JSON.parse(invalid)).toThrow();
    const wrong = JSON.parse(contentOf(await structured('plan', PLAN_SCHEMA)));
    expect(schemaErrors(PLAN_SCHEMA, wrong)).not.toEqual([]);
    const right = JSON.parse(contentOf(await structured('plan', PLAN_SCHEMA)));
    expect(schemaErrors(PLAN_SCHEMA, right)).toEqual([]);
  });

  it('wraps the reply after a <think> block with braces, or in a ```json fence', async () => {
    server.inject({ think: true });
    server.inject({ fence: true });
    const thought = contentOf(await structured('plan', PLAN_SCHEMA));
    const match = /^<think>([\s\S]*)<\/think>\s*([\s\S]*)$/.exec(thought);
    expect(match?.[1]).toContain('{');
    expect(() => JSON.parse(thought)).toThrow();
    expect(schemaErrors(PLAN_SCHEMA, JSON.parse(match![2]))).toEqual([]);

    const fenced = contentOf(await structured('plan', PLAN_SCHEMA));
    const inner = /^```json\n([\s\S]*)\n```$/.exec(fenced);
    expect(inner).not.toBeNull();
    expect(schemaErrors(PLAN_SCHEMA, JSON.parse(inner![1]))).toEqual([]);
  });

  it('sends exact content, or the normal reply transformed', async () => {
    server.respond('plan', () => ({ queries: [], rationale: 'real' }));
    server.inject({ content: 'sorry, no' });
    server.inject({
      transform: (reply, request) => ({ ...(reply as object), rationale: `fabricated for ${request.schemaName}` }),
    });
    expect(contentOf(await structured('plan', PLAN_SCHEMA))).toBe('sorry, no');
    expect(JSON.parse(contentOf(await structured('plan', PLAN_SCHEMA)))).toEqual({
      queries: [],
      rationale: 'fabricated for plan',
    });
    expect(JSON.parse(contentOf(await structured('plan', PLAN_SCHEMA))).rationale).toBe('real');
  });

  it('hangs until the client times out, and stays healthy', async () => {
    const injection = server.inject({ hang: true });
    const timingOut = new OpenAI({ baseURL: server.baseUrl, apiKey: 'test', maxRetries: 0, fetch: fetchInThisRealm });
    const started = Date.now();
    const error = await failure(
      timingOut.chat.completions.create(
        { model: 'model-a', messages: [{ role: 'user', content: 'still there?' }] },
        { timeout: 300 },
      ),
    );
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await waitFor('the hanging call to be aborted', () => server.calls[0]?.aborted);
    await waitFor('no call in flight', () => server.inFlight === 0);
    expect(server.calls[0]).toMatchObject({ status: undefined, answeredAt: undefined, aborted: true });
    expect(injection.hits).toBe(1);

    await expect(structured('plan', PLAN_SCHEMA)).resolves.toMatchObject({ object: 'chat.completion' });
    expect(server.calls[1]).toMatchObject({ status: 200, aborted: false });
  });

  it('survives a client that aborts while the reply is delayed', async () => {
    server.setLatency(500);
    const controller = new AbortController();
    const pending = failure(structured('plan', PLAN_SCHEMA, { signal: controller.signal }));
    await waitFor('the call to arrive', () => server.calls.length === 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
    await waitFor('the call to be aborted', () => server.calls[0]?.aborted);
    server.setLatency(0);
    await expect(client.models.list()).resolves.toBeDefined();
  });

  it('delays every call by the latency, plus a delayMs fault', async () => {
    server.setLatency(200);
    server.inject({ delayMs: 300 }, { call: 2 });
    let started = Date.now();
    await structured('plan', PLAN_SCHEMA);
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    started = Date.now();
    await structured('plan', PLAN_SCHEMA);
    expect(Date.now() - started).toBeGreaterThanOrEqual(495);
    const [first, second] = server.calls;
    expect(first.answeredAt! - first.receivedAt).toBeGreaterThanOrEqual(199);
    expect(first.answeredAt! - first.receivedAt).toBeLessThan(450);
    expect(second.answeredAt! - second.receivedAt).toBeGreaterThanOrEqual(499);

    server.reset();
    expect(server.latencyMs).toBe(0);
  });

  it('counts the most calls in flight at once', async () => {
    server.setLatency(300);
    await Promise.all([1, 2, 3, 4, 5].map(() => structured('plan', PLAN_SCHEMA)));
    expect(server.maxInFlight).toBe(5);

    server.reset();
    server.setLatency(150);
    // a pool of two, as a concurrency limit would run them
    const queue = [1, 2, 3, 4, 5, 6];
    const started = Date.now();
    await Promise.all(
      [0, 1].map(async () => {
        while (queue.shift() !== undefined) await structured('plan', PLAN_SCHEMA);
      }),
    );
    expect(server.maxInFlight).toBe(2);
    expect(server.calls).toHaveLength(6);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 150 - 10);
    expect(server.inFlight).toBe(0);
  });

  it('records every call: model, schema, messages, authorization, status and content', async () => {
    await structured('plan', PLAN_SCHEMA, { model: 'model-a' });
    await structured('verify', FINDINGS_SCHEMA, { model: 'model-b', question: 'check it' });
    await client.chat.completions.create({ model: 'model-b', messages: [{ role: 'user', content: 'hi' }] });
    expect(server.calls.map((call) => [call.index, call.model, call.schemaName, call.status])).toEqual([
      [1, 'model-a', 'plan', 200],
      [2, 'model-b', 'verify', 200],
      [3, 'model-b', undefined, 200],
    ]);
    const [verify] = server.callsFor('verify');
    expect(verify.authorization).toBe('Bearer test');
    expect(verify.maxTokens).toBe(321);
    expect(verify.messages[1]).toEqual({ role: 'user', content: 'check it' });
    expect(schemaErrors(FINDINGS_SCHEMA, JSON.parse(verify.content!))).toEqual([]);
    expect(verify.answeredAt).toBeGreaterThanOrEqual(verify.receivedAt);
    expect(server.callsFor('nothing')).toEqual([]);
  });

  it('forgets calls, faults and latency on reset, and responders only when told', async () => {
    server.respond('plan', () => 'kept');
    server.inject({ status: 500 }, { times: Infinity });
    server.setLatency(50);
    server.reset();
    expect(server.calls).toEqual([]);
    expect(server.maxInFlight).toBe(0);
    expect(contentOf(await structured('plan', PLAN_SCHEMA))).toBe('kept');
    expect(server.calls[0].call).toBe(1);

    server.reset({ responders: true });
    const reply = JSON.parse(contentOf(await structured('plan', PLAN_SCHEMA)));
    expect(schemaErrors(PLAN_SCHEMA, reply)).toEqual([]);
  });

  it('answers malformed requests and unknown routes with OpenAI-style errors', async () => {
    const post = (body: string): Promise<Response> =>
      fetch(`${server.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    const malformed = await post('{"model": "model-a", "messages": [');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({
      error: expect.objectContaining({ type: 'invalid_request_error', message: expect.stringContaining('parse') }),
    });
    const noMessages = await post('{"model": "model-a"}');
    expect(noMessages.status).toBe(400);
    expect(((await noMessages.json()) as any).error.param).toBe('messages');
    const streaming = await post(
      '{"model": "model-a", "messages": [{"role": "user", "content": "x"}], "stream": true}',
    );
    expect(streaming.status).toBe(400);

    const unknown = await fetch(`${server.baseUrl}/embeddings`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.code).toBe('not_found');
    const wrongMethod = await fetch(`${server.baseUrl}/chat/completions`);
    expect(wrongMethod.status).toBe(405);
    const badEscape = await fetch(`${server.baseUrl}/models/%E0%A4%A`);
    expect(badEscape.status).toBeGreaterThanOrEqual(400);

    expect(server.calls.map((call) => call.status)).toEqual([400, 400, 400]);
    await expect(client.models.list()).resolves.toBeDefined();
  });

  it('ends hanging requests when it stops', async () => {
    const own = await FakeLlmServer.start({ latencyMs: 10 });
    const ownClient = new OpenAI({ baseURL: own.baseUrl, apiKey: 'test', maxRetries: 0 });
    own.inject({ hang: true });
    const pending = failure(
      ownClient.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'hi' }] }),
    );
    await waitFor('the call to arrive', () => own.inFlight === 1);
    const stopped = Date.now();
    await own.stop();
    expect(Date.now() - stopped).toBeLessThan(2000);
    expect(await pending).toBeInstanceOf(APIConnectionError);
    expect(own.calls[0].aborted).toBe(true);
    await sleep(10);
    await expect(own.stop()).resolves.toBeUndefined();
  });
});

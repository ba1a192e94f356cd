import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import {
  FakeLlmCall,
  FakeLlmFault,
  FakeLlmFaultMatch,
  FakeLlmInjection,
  FakeLlmMessage,
  FakeLlmOptions,
  FakeLlmRequest,
  FakeLlmResponder,
} from './fake-llm.types';
import { minimalInstance, wrongShape } from './json-schema.generator';

const DEFAULT_MODELS = ['fake-model'];
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const ERROR_KINDS: Record<number, { type: string; code: string; message: string }> = {
  400: { type: 'invalid_request_error', code: 'invalid_request', message: 'Invalid request (injected by the test).' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  404: { type: 'invalid_request_error', code: 'not_found', message: 'Not found.' },
  405: { type: 'invalid_request_error', code: 'method_not_allowed', message: 'Method not allowed.' },
  413: { type: 'invalid_request_error', code: 'request_too_large', message: 'Request too large.' },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached (injected by the test).' },
  500: { type: 'server_error', code: 'internal_error', message: 'The server had an error (injected by the test).' },
  502: { type: 'server_error', code: 'bad_gateway', message: 'Bad gateway (injected by the test).' },
  503: { type: 'server_error', code: 'service_unavailable', message: 'Overloaded (injected by the test).' },
};

/** Tokens as the fake counts them, so tests can predict `usage`: a quarter of the characters, rounded up. */
export function fakeTokenCount(text: string): number {
  return Math.ceil(text.length / 4);
}

class Aborted extends Error {}

interface Injection extends FakeLlmInjection {
  hits: number;
  readonly times: number;
}

/**
 * An OpenAI-compatible chat completions endpoint for the test suites: the apps call it with the
 * official SDK, the test programs its replies and faults and reads its call log.
 */
export class FakeLlmServer {
  private readonly server: Server;
  private readonly models: string[];
  private readonly defaultLatencyMs: number;
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private readonly responders = new Map<string, FakeLlmResponder>();
  private readonly pending = new Set<AbortController>();
  private injections: Injection[] = [];
  private log: FakeLlmCall[] = [];
  private counters = new Map<string, number>();
  private total = 0;
  private latency: number;
  private active = 0;
  private peak = 0;
  private listeningPort = 0;
  private stopping: Promise<void> | undefined;

  private constructor(options: FakeLlmOptions) {
    this.models = options.models ?? DEFAULT_MODELS;
    this.defaultLatencyMs = options.latencyMs ?? 0;
    this.latency = this.defaultLatencyMs;
    this.server = createServer((request, response) => this.route(request, response));
  }

  static async start(options: FakeLlmOptions = {}): Promise<FakeLlmServer> {
    const fake = new FakeLlmServer(options);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(options.port ?? 0, '127.0.0.1', () => {
        fake.server.off('error', reject);
        resolve();
      });
    });
    const address = fake.server.address();
    fake.listeningPort = typeof address === 'object' && address ? address.port : (options.port ?? 0);
    return fake;
  }

  get port(): number {
    return this.listeningPort;
  }

  /** What `LLM_BASE_URL` is set to. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.listeningPort}/v1`;
  }

  /** Every chat completion request since start or the last reset, in the order received. */
  get calls(): readonly FakeLlmCall[] {
    return this.log;
  }

  callsFor(schemaName: string): FakeLlmCall[] {
    return this.log.filter((call) => call.schemaName === schemaName);
  }

  /** Chat completions in progress now. */
  get inFlight(): number {
    return this.active;
  }

  /** The most chat completions that were in progress at once since start or the last reset. */
  get maxInFlight(): number {
    return this.peak;
  }

  get latencyMs(): number {
    return this.latency;
  }

  setLatency(ms: number): void {
    if (!(ms >= 0)) throw new Error(`latency must be a number of milliseconds >= 0, got ${ms}`);
    this.latency = ms;
  }

  /** Answers the structured calls of schema `name`; replaces the generic instance of the schema. */
  respond(name: string, responder: FakeLlmResponder): void {
    this.responders.set(name, responder);
  }

  /** Makes the calls `match` selects misbehave; the first injected fault that matches a call wins. */
  inject(fault: FakeLlmFault, match: FakeLlmFaultMatch = {}): FakeLlmInjection {
    const times = match.times ?? 1;
    if (!(times >= 1)) throw new Error(`times must be >= 1 or Infinity, got ${times}`);
    if (match.call !== undefined && !(Number.isInteger(match.call) && match.call >= 1)) {
      throw new Error(`call is 1-based, got ${match.call}`);
    }
    const injection: Injection = { fault, match: { ...match }, hits: 0, times };
    this.injections.push(injection);
    return injection;
  }

  /** Forgets calls and faults and restores the latency; keeps the responders unless told. */
  reset(options: { responders?: boolean } = {}): void {
    this.log = [];
    this.injections = [];
    this.counters = new Map();
    this.total = 0;
    this.latency = this.defaultLatencyMs;
    this.peak = this.active;
    if (options.responders) this.responders.clear();
  }

  /** Stops listening and ends every connection, hanging requests included. */
  stop(): Promise<void> {
    this.stopping ??= new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const controller of this.pending) controller.abort();
      this.server.closeAllConnections();
    });
    return this.stopping;
  }

  private route(request: IncomingMessage, response: ServerResponse): void {
    // a client that goes away must never take the server with it
    request.on('error', () => undefined);
    response.on('error', () => undefined);
    try {
      this.dispatch(request, response);
    } catch (error) {
      this.sendError(response, 500, `fake LLM failure: ${String(error)}`);
    }
  }

  private dispatch(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? '/', 'http://fake-llm').pathname.replace(/\/+$/, '');
    const method = request.method ?? 'GET';
    if (path === '/v1/chat/completions') {
      if (method !== 'POST') return this.sendError(response, 405, `Use POST for ${path}.`, { allow: 'POST' });
      this.complete(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.sendError(response, 500, `fake LLM failure: ${String(error)}`);
      });
      return;
    }
    if (path === '/v1/models' || path.startsWith('/v1/models/')) {
      if (method !== 'GET') return this.sendError(response, 405, `Use GET for ${path}.`, { allow: 'GET' });
      return this.listModels(path, response);
    }
    this.sendError(response, 404, `Unknown route ${method} ${path || '/'}.`);
  }

  private listModels(path: string, response: ServerResponse): void {
    const models = this.models.map((id) => ({ id, object: 'model', created: this.createdAt, owned_by: 'fake-llm' }));
    if (path === '/v1/models') return this.sendJson(response, 200, { object: 'list', data: models });
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    const model = models.find((candidate) => candidate.id === id);
    if (model) return this.sendJson(response, 200, model);
    this.sendError(response, 404, `The model \`${id}\` does not exist.`, {}, 'model_not_found');
  }

  private async complete(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const controller = new AbortController();
    let call: FakeLlmCall | undefined;
    this.pending.add(controller);
    this.active += 1;
    this.peak = Math.max(this.peak, this.active);
    response.once('close', () => {
      this.active -= 1;
      this.pending.delete(controller);
      if (!response.writableFinished) {
        controller.abort();
        if (call) call.aborted = true;
      }
    });

    let body: string;
    try {
      body = await readBody(request, controller.signal);
    } catch (error) {
      if (error instanceof Aborted) return;
      if (error instanceof RangeError) return this.sendError(response, 413, error.message);
      throw error;
    }

    const record = (fields: Partial<FakeLlmCall>): FakeLlmCall => {
      const schemaName = fields.schemaName;
      const key = schemaName ?? '';
      const schemaCall = (this.counters.get(key) ?? 0) + 1;
      this.counters.set(key, schemaCall);
      this.total += 1;
      const entry: FakeLlmCall = {
        index: this.total,
        call: schemaCall,
        receivedAt,
        answeredAt: undefined,
        model: undefined,
        schemaName,
        schema: undefined,
        messages: [],
        maxTokens: undefined,
        authorization: request.headers.authorization,
        status: undefined,
        content: undefined,
        error: undefined,
        fault: undefined,
        aborted: false,
        ...fields,
      };
      this.log.push(entry);
      return entry;
    };

    const parsed = parseRequest(body);
    if ('problem' in parsed) {
      call = record({ model: parsed.model });
      return this.answerError(response, call, 400, parsed.problem, {}, parsed.param);
    }
    call = record({
      model: parsed.model,
      schemaName: parsed.schemaName,
      schema: parsed.schema,
      messages: parsed.messages,
      maxTokens: parsed.maxTokens,
    });
    const asked: FakeLlmRequest = {
      model: parsed.model,
      messages: parsed.messages,
      schema: parsed.schema,
      schemaName: parsed.schemaName,
      maxTokens: parsed.maxTokens,
      call: call.call,
      index: call.index,
    };
    const fault = this.faultFor(call);
    call.fault = fault;

    try {
      if (fault && 'hang' in fault) await waitForAbort(controller.signal);
      const extra = fault && 'delayMs' in fault ? fault.delayMs : 0;
      await delay(this.latency + extra, controller.signal);
    } catch (error) {
      if (!(error instanceof Aborted)) throw error;
      call.aborted = true;
      return;
    }

    if (fault && 'status' in fault) {
      const headers: Record<string, string> = {};
      if (fault.status === 429 && fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      return this.answerError(
        response,
        call,
        fault.status,
        fault.message ?? ERROR_KINDS[fault.status].message,
        headers,
      );
    }

    let content: string;
    try {
      content = fault && 'content' in fault ? fault.content : await this.reply(asked, fault);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return this.answerError(
        response,
        call,
        500,
        `fake LLM could not reply to ${call.schemaName ?? 'text'}: ${message}`,
      );
    }
    if (controller.signal.aborted) return;

    const promptText = parsed.messages.map(messageText).join('');
    const promptTokens = fakeTokenCount(promptText);
    const completionTokens = fakeTokenCount(content);
    call.status = 200;
    call.content = content;
    call.answeredAt = Date.now();
    this.sendJson(
      response,
      200,
      {
        id: `chatcmpl-fake-${call.index}`,
        object: 'chat.completion',
        created: Math.floor(call.answeredAt / 1000),
        model: parsed.model,
        choices: [
          { index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null },
        ],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
        },
      },
      { 'x-request-id': `req_fake_${call.index}` },
    );
  }

  /** The normal reply (responder, generic instance or plain text), then what the fault does to it. */
  private async reply(request: FakeLlmRequest, fault: FakeLlmFault | undefined): Promise<string> {
    let reply: unknown;
    if (request.schema === undefined) reply = `Fake reply ${request.index} from ${request.model}.`;
    else {
      const responder = request.schemaName === undefined ? undefined : this.responders.get(request.schemaName);
      reply = responder ? await responder(request) : minimalInstance(request.schema);
    }
    if (!fault) return serialize(reply);
    if ('transform' in fault) return serialize(await fault.transform(reply, request));
    if ('wrongShape' in fault) return serialize(request.schema ? wrongShape(request.schema, reply) : reply);
    const json = serialize(reply);
    if ('invalidJson' in fault) return truncate(json);
    if ('fence' in fault) return '```json\n' + json + '\n```';
    if ('think' in fault) {
      return (
        '<think>\nThe user wants JSON like {"answer": "..."}; a first draft was {"draft": true, "items": [}' +
        ' which is not right, so I will check every field of the schema before answering.\n</think>\n\n' +
        json
      );
    }
    return json;
  }

  private faultFor(call: FakeLlmCall): FakeLlmFault | undefined {
    const injection = this.injections.find(({ match, hits, times }) => {
      if (hits >= times) return false;
      if (match.schema !== undefined && match.schema !== call.schemaName) return false;
      if (match.call === undefined) return true;
      const position = match.schema === undefined ? call.index : call.call;
      return position >= match.call && position < match.call + times;
    });
    if (!injection) return undefined;
    injection.hits += 1;
    return injection.fault;
  }

  private answerError(
    response: ServerResponse,
    call: FakeLlmCall,
    status: number,
    message: string,
    headers: Record<string, string> = {},
    param?: string,
  ): void {
    call.status = status;
    call.error = message;
    call.answeredAt = Date.now();
    this.sendError(response, status, message, headers, undefined, param);
  }

  private sendError(
    response: ServerResponse,
    status: number,
    message: string,
    headers: Record<string, string> = {},
    code?: string,
    param?: string,
  ): void {
    const kind = ERROR_KINDS[status] ?? ERROR_KINDS[500];
    this.sendJson(
      response,
      status,
      { error: { message, type: kind.type, param: param ?? null, code: code ?? kind.code } },
      headers,
    );
  }

  private sendJson(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (response.headersSent || response.destroyed) return;
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    response.end(text);
  }
}

type ParsedRequest =
  | {
      model: string;
      messages: FakeLlmMessage[];
      schema: Record<string, unknown> | undefined;
      schemaName: string | undefined;
      maxTokens: number | undefined;
    }
  | { problem: string; param?: string; model?: string };

function parseRequest(body: string): ParsedRequest {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return { problem: 'We could not parse the JSON body of your request.' };
  }
  if (!isRecord(payload)) return { problem: 'The request body must be a JSON object.' };
  const model = typeof payload.model === 'string' ? payload.model : undefined;
  if (!model) return { problem: 'you must provide a model parameter', param: 'model' };
  const messages = payload.messages;
  if (!Array.isArray(messages) || messages.length === 0 || !messages.every(isMessage)) {
    return { problem: 'messages must be a non-empty array of {role, content}', param: 'messages', model };
  }
  if (payload.stream === true) {
    return { problem: 'the fake LLM does not stream; call it with stream: false', param: 'stream', model };
  }
  const maxTokens = [payload.max_completion_tokens, payload.max_tokens].find((value) => typeof value === 'number');
  const format = payload.response_format;
  let schema: Record<string, unknown> | undefined;
  let schemaName: string | undefined;
  if (isRecord(format) && format.type === 'json_schema') {
    const jsonSchema = format.json_schema;
    if (
      !isRecord(jsonSchema) ||
      typeof jsonSchema.name !== 'string' ||
      !/^[a-zA-Z0-9_-]{1,64}$/.test(jsonSchema.name)
    ) {
      return {
        problem: 'response_format.json_schema.name must match ^[a-zA-Z0-9_-]{1,64}$',
        param: 'response_format',
        model,
      };
    }
    schemaName = jsonSchema.name;
    schema = isRecord(jsonSchema.schema) ? jsonSchema.schema : {};
  }
  return { model, messages, schema, schemaName, maxTokens: maxTokens as number | undefined };
}

function isMessage(value: unknown): value is FakeLlmMessage {
  return isRecord(value) && typeof value.role === 'string';
}

function messageText(message: FakeLlmMessage): string {
  if (typeof message.content === 'string') return message.content;
  if (Array.isArray(message.content)) return message.content.map((part) => part.text ?? '').join('');
  return '';
}

function serialize(reply: unknown): string {
  return typeof reply === 'string' ? reply : JSON.stringify(reply);
}

/** The first half of the JSON: what a reply cut short by a token limit looks like. */
function truncate(json: string): string {
  const half = json.slice(0, Math.max(1, Math.floor(json.length / 2)));
  try {
    JSON.parse(half);
  } catch {
    return half;
  }
  return `{"truncated": ${half}`;
}

function readBody(request: IncomingMessage, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onAbort = (): void => reject(new Aborted());
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        reject(new RangeError(`request body over ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
  });
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new Aborted());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Aborted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(new Aborted());
    signal.addEventListener('abort', () => reject(new Aborted()), { once: true });
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

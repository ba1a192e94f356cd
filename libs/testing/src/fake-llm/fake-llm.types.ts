/** The vocabulary of the fake LLM: how tests program it and what it records. */

export interface FakeLlmOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Listed by `GET /v1/models`; chat calls are answered whatever model they name. */
  models?: string[];
  /** Delay before every chat completion is answered, restored by `reset()`. */
  latencyMs?: number;
}

/** A chat message as the client sent it. */
export interface FakeLlmMessage {
  role: string;
  content: string | Array<{ type: string; text?: string }> | null;
  [key: string]: unknown;
}

/** What a responder sees of a chat completion request. */
export interface FakeLlmRequest {
  model: string;
  messages: FakeLlmMessage[];
  /** `response_format.json_schema.schema`, or undefined for a plain-text request. */
  schema: Record<string, unknown> | undefined;
  schemaName: string | undefined;
  /** `max_completion_tokens`, or the older `max_tokens`. */
  maxTokens: number | undefined;
  /** 1-based position among the calls of this schema (or of plain-text calls) since start or reset. */
  call: number;
  /** 1-based position among all chat calls since start or reset. */
  index: number;
}

/** Produces the structured reply: a string is sent as is, anything else as JSON. */
export type FakeLlmResponder = (request: FakeLlmRequest) => unknown;

export type FakeLlmErrorStatus = 400 | 401 | 500 | 502 | 503;

/** One misbehaviour, applied to the calls its match selects. */
export type FakeLlmFault =
  /** `retryAfter` is in seconds, sent as `Retry-After` (fractions are parsed by the openai SDK). */
  | { status: 429; retryAfter?: number; message?: string }
  | { status: FakeLlmErrorStatus; message?: string }
  /** A reply cut in half: not parseable as JSON. */
  | { invalidJson: true }
  /** Parseable JSON that does not match the schema. */
  | { wrongShape: true }
  /** The normal reply after a `<think>` block of reasoning, which contains braces. */
  | { think: true }
  /** The normal reply inside a ```json fence. */
  | { fence: true }
  /** Exactly this content. */
  | { content: string }
  /** No answer until the client gives up or the server stops. */
  | { hang: true }
  /** The normal reply, this much later than usual. */
  | { delayMs: number }
  /** The normal reply altered, e.g. a quote that is not in the source. */
  | { transform: (reply: unknown, request: FakeLlmRequest) => unknown };

/** Which calls a fault applies to. Positions count from start or the last `reset()`. */
export interface FakeLlmFaultMatch {
  /** Only calls with this `json_schema.name`; any call when omitted. */
  schema?: string;
  /** The first call it applies to: the nth call of that schema (of all calls without `schema`), 1-based. */
  call?: number;
  /** How many consecutive matching calls it applies to; default 1, `Infinity` for all. */
  times?: number;
}

/** A programmed fault, to check afterwards that it was really triggered. */
export interface FakeLlmInjection {
  readonly fault: FakeLlmFault;
  readonly match: FakeLlmFaultMatch;
  /** Calls it has been applied to. */
  readonly hits: number;
}

/** One chat completion request as the fake saw and answered it. */
export interface FakeLlmCall {
  /** 1-based, among all chat calls since start or reset. */
  index: number;
  /** 1-based, among the calls of the same schema since start or reset. */
  call: number;
  /** Epoch milliseconds. */
  receivedAt: number;
  /** Epoch milliseconds; undefined while in progress, or when it was never answered. */
  answeredAt: number | undefined;
  /** Undefined when the body was not a valid request. */
  model: string | undefined;
  schemaName: string | undefined;
  /** `response_format.json_schema.schema` as sent: what a strict server would hold the reply to. */
  schema: Record<string, unknown> | undefined;
  messages: FakeLlmMessage[];
  maxTokens: number | undefined;
  /** The `Authorization` header as received. */
  authorization: string | undefined;
  /** HTTP status sent; undefined while in progress, or when it was never answered. */
  status: number | undefined;
  /** The assistant content of a 200 answer. */
  content: string | undefined;
  /** The error message of an error answer. */
  error: string | undefined;
  /** The fault applied to this call, if any. */
  fault: FakeLlmFault | undefined;
  /** True when the client went away (or the server stopped) before the answer. */
  aborted: boolean;
}

/** The LLM port: structured completions against whatever model each stage is configured with. */

export interface LlmMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A JSON Schema in the subset OpenAI's strict structured outputs accept. */
export interface JsonSchemaFormat {
  /** Also the `json_schema.name` sent to the model: [a-zA-Z0-9_-]{1,64}. */
  name: string;
  schema: Record<string, unknown>;
}

export interface StructuredRequest {
  /**
   * Whose data the messages carry. Cached replies are kept per tenant: a reply built from one
   * tenant's private documents is never given to another.
   */
  tenantId: string;
  /** The pipeline stage (planner, reader, writer, verifier): picks the model, labels the ledger. */
  stage: string;
  messages: LlmMessage[];
  schema: JsonSchemaFormat;
  /** Upper bound of completion tokens for this call. */
  maxTokens?: number;
  temperature?: number;
  /** Aborts the call (and any wait for a retry or a concurrency slot). */
  signal?: AbortSignal;
  /**
   * Filled in as each HTTP call of the completion ends, whatever the completion's outcome: the
   * calls a completion that fails or is aborted made are still counted by its caller's ledger.
   */
  spending?: LlmSpending;
}

/** What the HTTP calls of one completion spent so far. */
export interface LlmSpending {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** HTTP calls by how they ended: `success`, `rate_limited`, `server_error`, `timeout`, `rejected`, `aborted`. */
  outcomes: Record<string, number>;
}

export function noSpending(): LlmSpending {
  return { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, outcomes: {} };
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface StructuredResponse<T> {
  /** The reply, parsed and valid against the request's schema. */
  value: T;
  model: string;
  /** Tokens of every HTTP call this completion took, repairs and retries included. */
  usage: LlmUsage;
  /** HTTP calls made: 1 unless retried or repaired. */
  calls: number;
  /** True when the first reply was invalid and the repaired one is returned. */
  repaired: boolean;
  costUsd: number;
  durationMs: number;
}

/**
 * Structured completions. Adapters validate the reply against the schema (after removing
 * `<think>` blocks), repair an invalid reply once, retry transient failures, and share the
 * endpoint's concurrency limit with every other worker.
 */
export abstract class LlmClient {
  /** The model a stage uses. */
  abstract modelFor(stage: string): string;
  abstract complete<T>(request: StructuredRequest): Promise<StructuredResponse<T>>;
}

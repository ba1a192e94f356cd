import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

/** Why a call is made again: the `reason` label of `llm_retries_total`. */
export type RetryReason = 'rate_limited' | 'server_error' | 'timeout' | 'invalid_output';

/** A failure that may pass if the same call is made again later. */
export interface TransientFailure {
  reason: Exclude<RetryReason, 'invalid_output'>;
  /** What went wrong, for the log and the final error. */
  cause: string;
  status?: number;
  /** How long the endpoint asked us to wait, when it said. */
  retryAfterMs?: number;
}

const FIRST_BACKOFF_MS = 500;
const LAST_BACKOFF_MS = 8_000;
export const MAX_RETRY_WAIT_MS = 60_000;

/** The transient failure behind an SDK error, or undefined when calling again cannot help. */
export function transientFailure(error: unknown): TransientFailure | undefined {
  if (error instanceof APIUserAbortError) return undefined;
  if (error instanceof APIConnectionTimeoutError) return { reason: 'timeout', cause: 'timed out' };
  if (error instanceof APIConnectionError) {
    const cause = (error.cause as Error | undefined)?.message ?? error.message;
    return { reason: 'server_error', cause: `connection failed (${cause})` };
  }
  if (!(error instanceof APIError) || error.status === undefined) return undefined;
  const { status } = error;
  const retryAfterMs = retryAfter(error.headers);
  if (status === 429) return { reason: 'rate_limited', cause: 'HTTP 429', status, retryAfterMs };
  if (status === 408) return { reason: 'timeout', cause: 'HTTP 408', status, retryAfterMs };
  if (status >= 500) return { reason: 'server_error', cause: `HTTP ${status}`, status, retryAfterMs };
  return undefined;
}

/**
 * The wait before retry number `retry` (1 for the first): what the endpoint asked for, or an
 * exponential backoff, with jitter so that workers do not come back in step; never above a minute.
 */
export function retryDelayMs(retry: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) {
    // Only ever later than asked: earlier would be rate limited again.
    return Math.min(MAX_RETRY_WAIT_MS, retryAfterMs + Math.random() * Math.min(1_000, retryAfterMs / 10));
  }
  const backoff = Math.min(LAST_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (retry - 1));
  return backoff / 2 + Math.random() * (backoff / 2);
}

/** `retry-after-ms` (OpenAI's), else `Retry-After` in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  const millis = headers?.get('retry-after-ms')?.trim();
  if (millis && /^\d+(\.\d+)?$/.test(millis)) return Number(millis);
  const value = headers?.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its weekday and month; Date.parse would also take "-1" for a year.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

import { setTimeout as sleep } from 'node:timers/promises';
import { undici } from '@app/common';
import type { Dispatcher } from 'undici';

/** Why a search provider gave no results. Each is a value of the provider metrics' `outcome`. */
export type ProviderFailure =
  /** 429, after the retries. */
  | 'rate_limited'
  /** 5xx, after the retries. */
  | 'server_error'
  /** 4xx other than 429: a wrong key or request; not retried. */
  | 'rejected'
  | 'timeout'
  | 'network'
  /** An answer that is not the provider's JSON. */
  | 'bad_response';

export class SearchProviderError extends Error {
  constructor(
    readonly provider: string,
    readonly reason: ProviderFailure,
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(`${provider}: ${message}`, options);
    this.name = 'SearchProviderError';
  }
}

export interface ProviderHttpSettings {
  /** For one try. */
  timeoutMs: number;
  /** Tries after the first, for 429, 5xx, timeouts and network errors. */
  retries: number;
  /** The first backoff; it doubles with each try, with jitter. */
  backoffMs: number;
  /** No wait is longer, whatever a `Retry-After` asks for: past it, the try counts as failed. */
  maxDelayMs: number;
}

export interface JsonRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * JSON over HTTP to a search provider, with the retry rules every adapter shares: 429 and 5xx,
 * timeouts and network errors are tried again with exponential backoff and jitter, waiting what
 * the server's `Retry-After` asks for (seconds or an HTTP date) when it says, up to `maxDelayMs`;
 * other 4xx answers fail at once. Provider endpoints are configured by the operator, so they are
 * not subject to the page fetcher's address guard.
 */
export class ProviderHttp {
  constructor(
    readonly provider: string,
    private readonly settings: ProviderHttpSettings,
    private readonly dispatcher?: Dispatcher,
  ) {}

  async json(call: JsonRequest): Promise<unknown> {
    for (let attempt = 0; ; attempt += 1) {
      const outcome = await this.once(call);
      if (!('retry' in outcome)) return outcome.body;
      const delay = outcome.retryAfterMs ?? this.backoff(attempt);
      if (attempt >= this.settings.retries || delay > this.settings.maxDelayMs) throw outcome.error;
      await sleep(delay, undefined, { signal: call.signal }).catch(() => {
        throw outcome.error;
      });
    }
  }

  private async once(
    call: JsonRequest,
  ): Promise<{ body: unknown } | { retry: true; error: SearchProviderError; retryAfterMs?: number }> {
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    let response: Dispatcher.ResponseData;
    try {
      response = await undici().request(call.url, {
        method: call.method,
        dispatcher: this.dispatcher,
        signal,
        headers: {
          accept: 'application/json',
          ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...call.headers,
        },
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
      });
    } catch (error) {
      if (call.signal?.aborted) throw error;
      const timedOut = timeout.aborted || error instanceof undici().errors.HeadersTimeoutError;
      return {
        retry: true,
        error: new SearchProviderError(
          this.provider,
          timedOut ? 'timeout' : 'network',
          timedOut ? `no answer within ${this.settings.timeoutMs} ms` : (error as Error).message,
          undefined,
          { cause: error },
        ),
      };
    }
    const status = response.statusCode;
    if (status === 429 || status >= 500) {
      await response.body.dump().catch(() => undefined);
      return {
        retry: true,
        error: new SearchProviderError(
          this.provider,
          status === 429 ? 'rate_limited' : 'server_error',
          `answered ${status}`,
          status,
        ),
        retryAfterMs: retryAfterMs(response.headers['retry-after']),
      };
    }
    let text: string;
    try {
      text = await readText(response, this.provider);
    } catch (error) {
      if (error instanceof SearchProviderError) throw error;
      return {
        retry: true,
        error: new SearchProviderError(
          this.provider,
          timeout.aborted ? 'timeout' : 'network',
          'the answer broke off',
          status,
          {
            cause: error,
          },
        ),
      };
    }
    if (status < 200 || status >= 300) {
      throw new SearchProviderError(this.provider, 'rejected', `answered ${status}: ${text.slice(0, 200)}`, status);
    }
    try {
      return { body: JSON.parse(text) as unknown };
    } catch {
      throw new SearchProviderError(
        this.provider,
        'bad_response',
        `answered ${status} with something that is not JSON`,
        status,
      );
    }
  }

  private backoff(attempt: number): number {
    const base = this.settings.backoffMs * 2 ** attempt;
    return Math.round(base / 2 + Math.random() * (base / 2));
  }
}

async function readText(response: Dispatcher.ResponseData, provider: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_ANSWER_BYTES) {
      response.body.destroy();
      throw new SearchProviderError(provider, 'bad_response', `the answer is over ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** `Retry-After` in ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

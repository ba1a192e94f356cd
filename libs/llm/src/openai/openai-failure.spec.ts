import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { MAX_RETRY_WAIT_MS, retryAfter, retryDelayMs, transientFailure } from './openai-failure';

function apiError(status: number, headers: Record<string, string> = {}): APIError {
  return APIError.generate(status, { message: 'no' }, undefined, new Headers(headers));
}

describe('transientFailure', () => {
  it('retries rate limits, server errors, timeouts and lost connections, with their reason', () => {
    expect(transientFailure(apiError(429, { 'retry-after': '2' }))).toEqual({
      reason: 'rate_limited',
      cause: 'HTTP 429',
      status: 429,
      retryAfterMs: 2000,
    });
    expect(transientFailure(apiError(503))).toMatchObject({ reason: 'server_error', cause: 'HTTP 503', status: 503 });
    expect(transientFailure(apiError(408))).toMatchObject({ reason: 'timeout', status: 408 });
    expect(transientFailure(new APIConnectionTimeoutError())).toEqual({ reason: 'timeout', cause: 'timed out' });
    const refused = new APIConnectionError({ cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    expect(transientFailure(refused)).toEqual({
      reason: 'server_error',
      cause: 'connection failed (connect ECONNREFUSED 127.0.0.1:9)',
    });
  });

  it('does not retry other client errors, aborts, or errors that are not the API', () => {
    for (const status of [400, 401, 403, 404, 422]) expect(transientFailure(apiError(status))).toBeUndefined();
    expect(transientFailure(new APIUserAbortError())).toBeUndefined();
    expect(transientFailure(new TypeError('x is undefined'))).toBeUndefined();
  });
});

describe('retryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads seconds, an HTTP date, and retry-after-ms first', () => {
    expect(retryAfter(new Headers({ 'retry-after': '1' }), now)).toBe(1000);
    expect(retryAfter(new Headers({ 'retry-after': '0.5' }), now)).toBe(500);
    expect(retryAfter(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfter(new Headers({ 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' }), now)).toBe(0);
    expect(retryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
  });

  it('ignores what it cannot read', () => {
    expect(retryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfter(new Headers({ 'retry-after': '-1' }), now)).toBeUndefined();
    expect(retryAfter(new Headers(), now)).toBeUndefined();
    expect(retryAfter(undefined, now)).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  it('doubles from half a second with jitter, up to 8 s', () => {
    for (let i = 0; i < 50; i += 1) {
      expect(retryDelayMs(1)).toBeGreaterThanOrEqual(250);
      expect(retryDelayMs(1)).toBeLessThanOrEqual(500);
      expect(retryDelayMs(3)).toBeGreaterThanOrEqual(1000);
      expect(retryDelayMs(3)).toBeLessThanOrEqual(2000);
      expect(retryDelayMs(10)).toBeGreaterThanOrEqual(4000);
      expect(retryDelayMs(10)).toBeLessThanOrEqual(8000);
    }
  });

  it('waits at least what the endpoint asked, and never more than a minute', () => {
    for (let i = 0; i < 50; i += 1) {
      expect(retryDelayMs(1, 1000)).toBeGreaterThanOrEqual(1000);
      expect(retryDelayMs(1, 1000)).toBeLessThanOrEqual(1100);
    }
    expect(retryDelayMs(1, 3_600_000)).toBe(MAX_RETRY_WAIT_MS);
  });
});

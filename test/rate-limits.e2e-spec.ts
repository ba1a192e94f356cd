import { AppProcess, HttpClient, TestStack, freePort } from '@app/testing';

/**
 * Rate limits per key (per client IP without one), counted in Redis so that two api processes
 * share them, with the defaults a production deployment gets.
 */
describe('rate limits', () => {
  let stack: TestStack;
  let second: { process: AppProcess; http: HttpClient };
  let key: string;
  let other: string;

  beforeAll(async () => {
    // The production defaults: 100 reads and 10 writes a second per key.
    stack = await TestStack.create({ label: 'ratelimit', env: { RATE_LIMIT_ENABLED: 'true' } });
    key = lastLine(
      (await stack.cli(['keys', 'create', '--tenant', 'rl', '--scopes', 'research:read,research:write'])).stdout,
    );
    other = lastLine((await stack.cli(['keys', 'create', '--tenant', 'rl', '--scopes', 'research:read'])).stdout);
    await stack.startApi();
    const port = await freePort();
    second = {
      process: await AppProcess.startServing('api', { ...stack.env, PORT: String(port) }, port),
      http: new HttpClient(`http://127.0.0.1:${port}`),
    };
  });

  afterAll(async () => {
    await second?.process.stop();
    await stack?.teardown();
  });

  const as = (value: string) => ({ authorization: `Bearer ${value}` });

  it('meets a burst of 300 reads within a second with 429, counted across two api processes', async () => {
    const apis = [stack.http, second.http];
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, n) => apis[n % 2]!.get('/api/v1/research?limit=1', as(key))),
    );
    // The one-second windows the burst touched: on a loaded machine it can outlast one.
    const windows = Math.floor((Date.now() - started) / 1000) + 2;
    const statuses = answers.map((answer) => answer.status);
    const limited = answers.filter((answer) => answer.status === 429);
    expect(new Set(statuses)).toEqual(new Set([200, 429]));
    // Together the two processes let through no more than the one limit of each window the burst
    // touched (100 reads a second), not the limit of each process.
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(Math.min(100 * windows, 299));
    expect(limited.some((answer) => answer.headers.get('x-request-id') && answer.body.request_id)).toBe(true);
    for (const answer of [limited[0]!, limited.at(-1)!]) {
      expect(answer.body.error).toMatchObject({
        code: 'rate_limited',
        details: { retry_after_seconds: expect.any(Number) },
      });
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Another key has a count of its own.
    expect((await second.http.get('/api/v1/research?limit=1', as(other))).status).toBe(200);
  });

  it('limits writes more tightly than reads', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, n) => stack.http.post('/api/v1/research', { question: `write ${n}` }, as(key))),
    );
    const accepted = answers.filter((answer) => answer.status === 202).length;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(20);
    expect(answers.filter((answer) => answer.status === 429).length).toBe(30 - accepted);
    // Nothing refused was stored.
    const stored = await stack.database.query<{ n: string }>('SELECT count(*) AS n FROM researches');
    expect(Number(stored[0]?.n)).toBe(accepted);
  });

  it('counts calls without a key per client IP, and never limits the probes', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const anonymous = await Promise.all(Array.from({ length: 150 }, () => stack.http.get('/api/v1/research?limit=1')));
    expect(anonymous.filter((answer) => answer.status === 429).length).toBeGreaterThan(0);
    const probes = await Promise.all(Array.from({ length: 150 }, () => stack.http.get('/health')));
    expect(probes.every((answer) => answer.status === 200)).toBe(true);
  });
});

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

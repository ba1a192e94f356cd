import { createHmac, timingSafeEqual } from 'node:crypto';
import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppProcess, HttpResponse, TestStack, freePort, scrape, valueOf, waitFor } from '@app/testing';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A webhook receiver: it answers each request with the next status of its script (then 200), and
 * keeps every request as it arrived, raw body included, for the signature check.
 */
class Receiver {
  readonly received: Received[] = [];
  private script: number[] = [];
  private server!: Server;

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    receiver.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        receiver.received.push({
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        response.statusCode = receiver.script.shift() ?? 200;
        response.end(response.statusCode < 300 ? 'ok' : 'not now');
      });
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** The statuses of the next answers, in order; 200 after them. */
  answer(...statuses: number[]): void {
    this.script = statuses;
  }

  /** Reached by name: `localhost` is the one host the suite lets through WEBHOOK_ALLOWED_HOSTS. */
  get url(): string {
    return `http://localhost:${(this.server.address() as AddressInfo).port}/hooks/research`;
  }

  of(researchId: string): Received[] {
    return this.received.filter((request) => request.headers['x-research-id'] === researchId);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The receiver's check, as docs/webhooks.md shows it. */
function verify(secret: string, header: string, body: string, toleranceSeconds = 300): boolean {
  const { t, v1 } = Object.fromEntries(header.split(',').map((part) => part.split('=', 2))) as Record<string, string>;
  if (!t || !v1 || Math.abs(Date.now() / 1000 - Number(t)) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Webhooks through the real api, worker, PostgreSQL and Redis: the terminal result is POSTed,
 * signed, to the research's callback URL, retried with backoff, every attempt recorded, and
 * delivered again on request. The extractive engine runs the researches (no LLM is configured).
 */
describe('webhooks', () => {
  let stack: TestStack;
  let receiver: Receiver;
  let worker: AppProcess;
  let workerUrl: string;
  let secret: string;

  const RETRY_SECONDS = 3;
  const BACKOFF_MS = 200;

  beforeAll(async () => {
    receiver = await Receiver.start();
    stack = await TestStack.create({
      label: 'webhooks',
      env: {
        WEBHOOK_ALLOWED_HOSTS: 'localhost',
        WEBHOOK_BACKOFF_MS: String(BACKOFF_MS),
        WEBHOOK_RETRY_SECONDS: String(RETRY_SECONDS),
        WEBHOOK_TIMEOUT_MS: '2000',
      },
    });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    await stack.startApi();
    const port = await freePort();
    worker = await stack.startWorker({ WORKER_PORT: String(port) });
    workerUrl = `http://127.0.0.1:${port}`;
    const printed = await stack.cli(['tenants', 'webhook-secret', '--tenant', 'default']);
    expect(printed.code).toBe(0);
    secret = printed.stdout.trim().split('\n').at(-1)!;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  });

  afterAll(async () => {
    await stack?.teardown();
    await receiver?.stop();
  });

  const deliveries = async (id: string) => {
    const response = await stack.http.get(`/api/v1/research/${id}/deliveries`);
    expect(response.status).toBe(200);
    return response.body.items as any[];
  };
  const settled = (id: string, count = 1) =>
    waitFor(
      `the deliveries of ${id} to end`,
      async () => {
        const items = await deliveries(id);
        return items.length >= count && items.every((item) => item.status !== 'pending') ? items : undefined;
      },
      20_000,
      50,
    );

  it('retries a receiver that fails twice, records three attempts, and signs the body as documented', async () => {
    receiver.answer(503, 500);
    const id = await stack.submit({ question: 'NVIDIA 市佔率 2024', callback_url: receiver.url });
    expect((await stack.research(id)).callback_url).toBe(receiver.url);
    const research = await stack.waitForStatus(id);
    expect(research.status).toBe('completed');

    const [delivery] = await settled(id);
    expect(delivery).toMatchObject({
      event: 'research.completed',
      trigger: 'terminal',
      url: receiver.url,
      status: 'delivered',
      next_attempt_at: null,
    });
    expect(delivery.attempts.map((a: any) => [a.n, a.outcome, a.status_code])).toEqual([
      [1, 'http_status', 503],
      [2, 'http_status', 500],
      [3, 'delivered', 200],
    ]);
    for (const attempt of delivery.attempts) {
      expect(attempt.duration_ms).toBeGreaterThanOrEqual(0);
      expect(Date.parse(attempt.attempted_at)).toBeGreaterThanOrEqual(Date.parse(delivery.created_at));
    }
    expect(delivery.attempts[2].error).toBeNull();
    expect(delivery.attempts[0].error).toBe('the receiver answered 503');

    const requests = receiver.of(id);
    expect(requests).toHaveLength(3);
    // Exponential backoff: the second wait is about twice the first.
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(BACKOFF_MS - 20);
    expect(requests[2]!.at - requests[1]!.at).toBeGreaterThanOrEqual(2 * BACKOFF_MS - 20);
    for (const [index, request] of requests.entries()) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-webhook-id']).toBe(delivery.delivery_id);
      expect(request.headers['x-webhook-event']).toBe('research.completed');
      expect(request.headers['x-webhook-attempt']).toBe(String(index + 1));
      expect(verify(secret, request.headers['x-signature'] as string, request.body)).toBe(true);
      // Any change to the body breaks the signature.
      expect(verify(secret, request.headers['x-signature'] as string, request.body.replace('NVIDIA', 'NVIDIA '))).toBe(
        false,
      );
    }
    const body = JSON.parse(requests[2]!.body);
    expect(body).toMatchObject({ id: delivery.delivery_id, event: 'research.completed' });
    // The research as GET answers it, result included.
    const current = await stack.research(id);
    expect(body.research).toEqual({ ...current, updated_at: body.research.updated_at });
    expect(body.research.result.report).toContain('NVIDIA');

    const metrics = (await scrape(workerUrl)).samples;
    expect(valueOf(metrics, 'research_webhook_attempts_total', { outcome: 'http_status' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(metrics, 'research_webhook_attempts_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(metrics, 'research_webhook_deliveries_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(metrics, 'research_webhook_delivery_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(metrics, 'research_webhook_attempt_duration_seconds_count', { outcome: 'http_status' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      worker.lines.some((line) => line.message === 'webhook delivered' && line.delivery_id === delivery.delivery_id),
    ).toBe(true);
  });

  it.each([
    ['http://127.0.0.1:9000/hook', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://10.0.0.1/hook', 'private'],
    ['http://[::1]:9000/hook', 'loopback'],
    ['file:///etc/passwd', 'file URLs'],
    ['http://localhost:1@10.0.0.1/hook', 'credentials'],
    ['not a url', 'not a URL'],
  ])('refuses callback_url %s with a 400 naming callback_url', async (url, why) => {
    const response = await stack.http.post('/api/v1/research', { question: 'NVIDIA 2024', callback_url: url });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    expect(response.body.error.details).toEqual([{ field: 'callback_url', message: expect.stringContaining(why) }]);
  });

  it('gives up after WEBHOOK_RETRY_SECONDS, and delivers again on request as a new delivery', async () => {
    receiver.answer(...Array.from({ length: 20 }, () => 503));
    const id = await stack.submit({ question: 'HBM supply 2024', callback_url: receiver.url });
    await stack.waitForStatus(id);
    const [failed] = await settled(id);
    expect(failed.status).toBe('failed');
    // Attempts at about 0, 0.2, 0.6, 1.4 and 3.0 s: the next would come after the 3 s window.
    expect(failed.attempts.length).toBeGreaterThanOrEqual(3);
    expect(failed.attempts.every((a: any) => a.outcome === 'http_status' && a.status_code === 503)).toBe(true);
    const last = Date.parse(failed.attempts.at(-1).attempted_at);
    expect(last - Date.parse(failed.created_at)).toBeLessThanOrEqual(RETRY_SECONDS * 1000 + 1000);
    expect(valueOf((await scrape(workerUrl)).samples, 'research_webhook_deliveries_total', { outcome: 'failed' })).toBe(
      1,
    );

    receiver.answer();
    const redelivered = await stack.http.post(`/api/v1/research/${id}/deliveries/redeliver`);
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ trigger: 'redeliver', status: 'pending', event: 'research.completed' });
    const items = await settled(id, 2);
    expect(items.map((item) => [item.trigger, item.status])).toEqual([
      ['terminal', 'failed'],
      ['redeliver', 'delivered'],
    ]);
    expect(items[1].delivery_id).toBe(redelivered.body.delivery_id);
    expect(items[1].attempts).toHaveLength(1);
    expect(receiver.of(id).at(-1)!.headers['x-webhook-id']).toBe(redelivered.body.delivery_id);
  });

  it('refuses a redelivery with nothing to deliver', async () => {
    const plain = await stack.submit({ question: 'HBM 2024 supply' });
    await stack.waitForStatus(plain);
    const refused: HttpResponse = await stack.http.post(`/api/v1/research/${plain}/deliveries/redeliver`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'research_not_redeliverable', details: { callback_url: false } });
    expect(await deliveries(plain)).toEqual([]);

    const missing = await stack.http.get('/api/v1/research/00000000-0000-4000-8000-000000000000/deliveries');
    expect(missing.status).toBe(404);
  });

  it('keeps a pending retry through a worker killed and a Redis loss: the sweep queues it again', async () => {
    receiver.answer(503);
    const id = await stack.submit({ question: 'NVIDIA HBM 2024', callback_url: receiver.url });
    await stack.waitForStatus(id);
    await waitFor('the first attempt', async () =>
      (await deliveries(id))[0]?.attempts.length === 1 ? true : undefined,
    );
    worker.kill('SIGKILL');
    await worker.waitForExit();
    // Every job of the stack is gone, the delayed retry among them.
    const keys = await stack.queueKeys();
    if (keys.length > 0) await stack.redis.del(...keys);
    // A research cancelled meanwhile, while no worker runs: its delivery waits in the queue.
    receiver.answer();
    const pending = await stack.http.post('/api/v1/research', { question: 'HBM 2024', callback_url: receiver.url });
    const cancelledId = pending.body.research_id as string;
    expect((await stack.http.post(`/api/v1/research/${cancelledId}/cancel`)).status).toBe(200);

    const port = await freePort();
    worker = await stack.startWorker({ WORKER_PORT: String(port) });
    workerUrl = `http://127.0.0.1:${port}`;
    const [delivery] = await settled(id);
    expect(delivery.status).toBe('delivered');
    expect(delivery.attempts.map((a: any) => a.outcome)).toEqual(['http_status', 'delivered']);
    expect(worker.lines.some((line) => line.message === 'webhook deliveries queued again')).toBe(true);

    const [cancelled] = await settled(cancelledId);
    expect(cancelled).toMatchObject({ event: 'research.cancelled', status: 'delivered' });
    expect(JSON.parse(receiver.of(cancelledId).at(-1)!.body).research.status).toBe('cancelled');
  });

  it("shows and rotates a tenant's secret to admins, and signs with the new one", async () => {
    const created = await stack.cli(['keys', 'create', '--tenant', 'ops', '--scopes', 'admin']);
    const admin = { authorization: `Bearer ${created.stdout.trim().split('\n').at(-1)}` };
    const shown = await stack.http.get('/api/v1/admin/tenants/default/webhook-secret', admin);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ tenant: 'default', secret });
    expect((await stack.http.get('/api/v1/admin/tenants/default/webhook-secret')).status).toBe(403);
    expect((await stack.http.get('/api/v1/admin/tenants/nobody/webhook-secret', admin)).status).toBe(404);

    const rotated = await stack.http.post('/api/v1/admin/tenants/default/webhook-secret/rotate', undefined, admin);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(secret);
    receiver.answer();
    const id = await stack.submit({ question: 'NVIDIA 2024 share', callback_url: receiver.url });
    await stack.waitForStatus(id);
    await settled(id);
    const [request] = receiver.of(id);
    expect(verify(rotated.body.secret, request!.headers['x-signature'] as string, request!.body)).toBe(true);
    expect(verify(secret, request!.headers['x-signature'] as string, request!.body)).toBe(false);
  });
});

import { randomUUID } from 'node:crypto';
import { Sample, TestStack, scrape, sleep, socketExchange, valueOf } from '@app/testing';

interface Expected {
  status: number;
  method: string;
  path: string;
  /** The `endpoint` label; absent for probes and scrapes, which are not counted. */
  endpoint?: string;
  level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/**
 * Every request the api answers is counted in the request metrics and gets one "request
 * completed" line, exactly once, whether a handler answered it (through the global interceptors)
 * or it never reached one (through Fastify's hooks).
 */
describe('request metrics and logs, exactly once', () => {
  let stack: TestStack;
  let missingParams: string;

  beforeAll(async () => {
    stack = await TestStack.create({
      label: 'tracking',
      env: { LOG_LEVEL: 'debug', HTTP_BODY_LIMIT_BYTES: '4096', HTTP_BODY_TIMEOUT_MS: '1000' },
    });
    await stack.startApi();
    // A row the code cannot read: JSON null where the params object should be. Reading it throws
    // a TypeError, an error no code of ours expects.
    missingParams = await stack.submit({ question: 'a research whose params get lost' });
    await stack.database.query(`UPDATE researches SET params = 'null'::jsonb WHERE id = $1`, [missingParams]);
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  const total = (samples: Sample[], name: string) => valueOf(samples, name);

  /** Sends one request with a request id of its own, and checks what it left in the metrics and the log. */
  async function expectTrackedOnce(send: (requestId: string) => Promise<number>, expected: Expected): Promise<void> {
    const requestId = `tracking-${randomUUID()}`;
    const before = (await scrape(stack.http.baseUrl)).samples;
    expect(await send(requestId)).toBe(expected.status);

    const completed = () =>
      stack.api!.lines.filter((line) => line.request_id === requestId && line.message === 'request completed');
    await stack.api!.waitForLog('request completed', (line) => completed().includes(line));
    // Long enough for a second line or count, written in the same pass over the hooks, to show.
    await sleep(200);
    expect(completed()).toEqual([
      expect.objectContaining({
        level: expected.level,
        method: expected.method,
        path: expected.path,
        status_code: expected.status,
        duration: expect.any(Number),
      }),
    ]);

    const after = (await scrape(stack.http.baseUrl)).samples;
    const delta = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    const counted = expected.endpoint === undefined ? 0 : 1;
    expect(total(after, 'research_requests_total') - total(before, 'research_requests_total')).toBe(counted);
    expect(
      total(after, 'research_request_duration_seconds_count') -
        total(before, 'research_request_duration_seconds_count'),
    ).toBe(counted);
    if (expected.endpoint !== undefined) {
      const labels = { method: expected.method, endpoint: expected.endpoint };
      expect(
        delta('research_requests_total', {
          ...labels,
          status: expected.status < 400 ? 'success' : 'error',
          code: `${Math.floor(expected.status / 100)}xx`,
        }),
      ).toBe(1);
      expect(delta('research_request_duration_seconds_count', labels)).toBe(1);
    }
    expect(valueOf(after, 'research_active_requests')).toBe(0);
  }

  const request = (method: string, path: string, init: { body?: string; contentType?: string } = {}) => {
    return async (requestId: string) => {
      const headers: Record<string, string> = { 'X-Request-Id': requestId };
      if (init.contentType) headers['content-type'] = init.contentType;
      const response = await stack.http.request(method, path, { raw: init.body, headers });
      expect(response.headers.get('x-request-id')).toBe(requestId);
      return response.status;
    };
  };
  const json = 'application/json';

  describe('requests a handler answers', () => {
    it('202 from POST /api/v1/research, named by @TrackRequest', async () => {
      await expectTrackedOnce(
        request('POST', '/api/v1/research', { body: '{"question":"counted once"}', contentType: json }),
        { status: 202, method: 'POST', path: '/api/v1/research', endpoint: '/api/v1/research', level: 'INFO' },
      );
    });

    it('200 from GET /api/v1/research, with a query string left out of the path', async () => {
      await expectTrackedOnce(request('GET', '/api/v1/research?limit=2'), {
        status: 200,
        method: 'GET',
        path: '/api/v1/research',
        endpoint: '/api/v1/research',
        level: 'INFO',
      });
    });

    it('404 from a DomainError the service throws', async () => {
      const path = `/api/v1/research/${randomUUID()}`;
      await expectTrackedOnce(request('GET', path), {
        status: 404,
        method: 'GET',
        path,
        endpoint: '/api/v1/research/{id}',
        level: 'WARN',
      });
    });

    it('400 from the validation pipe', async () => {
      await expectTrackedOnce(
        request('POST', '/api/v1/research', { body: '{"question":"q","max_sources":0}', contentType: json }),
        { status: 400, method: 'POST', path: '/api/v1/research', endpoint: '/api/v1/research', level: 'WARN' },
      );
    });

    it('400 from a parameter pipe', async () => {
      await expectTrackedOnce(request('GET', '/api/v1/research/not-an-id'), {
        status: 400,
        method: 'GET',
        path: '/api/v1/research/not-an-id',
        endpoint: '/api/v1/research/{id}',
        level: 'WARN',
      });
    });

    it('500 from an error nothing expects, logged as an unhandled error too', async () => {
      const path = `/api/v1/research/${missingParams}`;
      let requestId = '';
      await expectTrackedOnce(
        async (id) => {
          requestId = id;
          return request('GET', path)(id);
        },
        { status: 500, method: 'GET', path, endpoint: '/api/v1/research/{id}', level: 'ERROR' },
      );
      expect(
        stack.api!.lines.filter((line) => line.request_id === requestId).map((line) => [line.level, line.message]),
      ).toEqual([
        ['ERROR', 'unhandled error'],
        ['ERROR', 'request completed'],
      ]);
    });

    it('probes and scrapes: one line at debug, not counted', async () => {
      for (const path of ['/health', '/ready', '/metrics']) {
        await expectTrackedOnce(request('GET', path), { status: 200, method: 'GET', path, level: 'DEBUG' });
      }
    });
  });

  describe('requests that reach no handler', () => {
    it('404 for an unknown route, as unmatched', async () => {
      await expectTrackedOnce(request('GET', '/no/such/route'), {
        status: 404,
        method: 'GET',
        path: '/no/such/route',
        endpoint: 'unmatched',
        level: 'WARN',
      });
    });

    it('400 for malformed JSON', async () => {
      await expectTrackedOnce(request('POST', '/api/v1/research', { body: '{"question":', contentType: json }), {
        status: 400,
        method: 'POST',
        path: '/api/v1/research',
        endpoint: '/api/v1/research',
        level: 'WARN',
      });
    });

    it('413 for a body over the limit', async () => {
      const body = JSON.stringify({ question: 'q'.repeat(8000) });
      await expectTrackedOnce(request('POST', '/api/v1/research', { body, contentType: json }), {
        status: 413,
        method: 'POST',
        path: '/api/v1/research',
        endpoint: '/api/v1/research',
        level: 'WARN',
      });
    });

    it('415 for a body that is not JSON', async () => {
      await expectTrackedOnce(
        request('POST', '/api/v1/research', { body: 'question=q', contentType: 'application/x-www-form-urlencoded' }),
        { status: 415, method: 'POST', path: '/api/v1/research', endpoint: '/api/v1/research', level: 'WARN' },
      );
    });

    it('408 for a body that does not arrive in time', async () => {
      const body = '{"question":"one byte at a time"}';
      await expectTrackedOnce(
        async (requestId) => {
          const response = await socketExchange(
            stack.apiPort,
            [
              'POST /api/v1/research HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n' +
                `X-Request-Id: ${requestId}\r\nContent-Length: ${body.length}\r\n\r\n`,
              ...body.split(''),
            ],
            { dripMs: 200, timeoutMs: 10_000, untilClosed: true },
          );
          return response.status;
        },
        { status: 408, method: 'POST', path: '/api/v1/research', endpoint: '/api/v1/research', level: 'WARN' },
      );
    });

    it('400 for an HTTP/1.1 request without Host, refused before any other hook', async () => {
      await expectTrackedOnce(
        async (requestId) => {
          const response = await socketExchange(
            stack.apiPort,
            [`GET /api/v1/research HTTP/1.1\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n`],
            { timeoutMs: 5000 },
          );
          return response.status;
        },
        { status: 400, method: 'GET', path: '/api/v1/research', endpoint: '/api/v1/research', level: 'WARN' },
      );
    });
  });
});

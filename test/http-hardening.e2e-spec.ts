import { AppProcess, HttpResponse, TestStack, errorShapeProblem, freePort, socketExchange } from '@app/testing';

/** What helmet must send on every answer of both apps. */
const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};
const API_POLICY = "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'";

/** The directives of a Content-Security-Policy header, by name. */
function directives(header: string | null): Record<string, string[]> {
  return Object.fromEntries(
    (header ?? '')
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name, sources]),
  );
}

function corsHeaders(response: { headers: Headers }): string[] {
  return [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));
}

/**
 * The HTTP surface hardened for production: security headers on both apps, CORS from an
 * allow-list, 405 for known paths, and errors that say only what the client may know, in one
 * shape.
 */
describe('hardened HTTP', () => {
  let stack: TestStack;
  let adminKey: string;

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'hardening', env: { QUEUE_DASHBOARD_ENABLED: 'true' } });
    const created = await stack.cli(['keys', 'create', '--tenant', 'ops', '--scopes', 'admin']);
    adminKey = created.stdout.trim().split('\n').at(-1) ?? '';
    await stack.startApi();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  const count = async (table: string) =>
    Number((await stack.database.query(`SELECT count(*) AS n FROM ${table}`))[0]?.n);

  function expectError(response: HttpResponse, status: number, code: string, details: unknown): void {
    expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
    expect(errorShapeProblem(response.body)).toBeUndefined();
    expect(response.body.error.details).toEqual(details);
    expect(response.body.request_id).toBe(response.headers.get('x-request-id'));
  }

  describe('security headers', () => {
    it.each([
      ['GET', '/health', 200],
      ['GET', '/api/v1/research', 200],
      ['GET', '/docs-json', 200],
      ['GET', '/api/v1/research/not-an-id', 400],
      ['GET', '/api/v1/nothing-here', 404],
      ['DELETE', '/api/v1/research', 405],
    ])('%s %s answers %i with a policy that allows nothing', async (method, path, status) => {
      const response = await stack.http.request(method, path);
      expect(response.status).toBe(status);
      expect(response.headers.get('content-security-policy')).toBe(API_POLICY);
      for (const [name, value] of Object.entries(COMMON_HEADERS))
        expect([name, response.headers.get(name)]).toEqual([name, value]);
      expect(response.headers.get('strict-transport-security')).toMatch(/^max-age=\d{7,}/);
    });

    it.each([
      ['/docs', [], []],
      ['/docs/swagger-ui-init.js', [], []],
      ['/admin/queues', ['https://fonts.googleapis.com'], ['https://fonts.gstatic.com']],
    ])('serves %s with its page policy: scripts only from the api itself', async (path, styleHosts, fontHosts) => {
      const response = await stack.http.get(path, { authorization: `Bearer ${adminKey}` });
      expect(response.status).toBe(200);
      const policy = directives(response.headers.get('content-security-policy'));
      expect(policy['script-src']).toEqual(["'self'"]);
      expect(policy['script-src-attr']).toEqual(["'none'"]);
      expect(policy['object-src']).toEqual(["'none'"]);
      expect(policy['frame-ancestors']).toEqual(["'none'"]);
      expect(policy['default-src']).toEqual(["'self'"]);
      expect(policy['style-src']).toEqual(["'self'", "'unsafe-inline'", ...styleHosts]);
      expect(policy['font-src']).toEqual(["'self'", 'data:', ...fontHosts]);
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    });

    it("gives the worker's probes and metrics the same headers", async () => {
      const worker = await stack.startWorker();
      const port = (await worker.waitForLog('worker started', (line) => line.message === 'worker started'))
        .port as number;
      for (const path of ['/health', '/ready', '/metrics', '/nothing']) {
        const response = await fetch(`http://127.0.0.1:${port}${path}`);
        expect([path, response.headers.get('content-security-policy')]).toEqual([path, API_POLICY]);
        for (const [name, value] of Object.entries(COMMON_HEADERS)) {
          expect([path, name, response.headers.get(name)]).toEqual([path, name, value]);
        }
        expect(corsHeaders(response)).toEqual([]);
      }
      const wrongMethod = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' });
      expect([wrongMethod.status, wrongMethod.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
      // Researches submitted below stay pending.
      await worker.stop();
    });
  });

  describe('405 for a known path asked with another method', () => {
    const id = '3f0c2f7e-8b9a-4c1e-9a57-1d2c3b4a5e6f';

    it.each([
      ['DELETE', '/api/v1/research', 'GET, HEAD, POST'],
      ['PUT', `/api/v1/research/${id}`, 'GET, HEAD'],
      ['PATCH', `/api/v1/research/${id}?x=1`, 'GET, HEAD'],
      ['GET', `/api/v1/research/${id}/cancel`, 'POST'],
      ['DELETE', `/api/v1/research/${id}/retry`, 'POST'],
      ['POST', '/health', 'GET, HEAD'],
      ['PUT', '/ready', 'GET, HEAD'],
      ['POST', '/metrics', 'GET, HEAD'],
      ['PUT', `/api/v1/documents/${id}`, 'DELETE, GET, HEAD'],
      ['OPTIONS', '/api/v1/documents', 'GET, HEAD, POST'],
    ])('%s %s answers 405 with Allow: %s', async (method, path, allow) => {
      const response = await stack.http.request(method, path);
      expectError(response, 405, 'method_not_allowed', { method, allowed: allow.split(', ') });
      expect(response.headers.get('allow')).toBe(allow);
    });

    it('answers the method before looking at the body, and stores nothing', async () => {
      const before = await count('researches');
      const response = await stack.http.request('PUT', '/api/v1/research', {
        raw: 'question=hello',
        headers: { 'content-type': 'text/plain' },
      });
      expect(response.status).toBe(405);
      const large = await stack.http.request('DELETE', '/api/v1/research', {
        raw: JSON.stringify({ question: 'x'.repeat(100 * 1024) }),
        headers: { 'content-type': 'application/json' },
      });
      expect(large.status).toBe(405);
      expect(await count('researches')).toBe(before);
    });

    it.each([
      ['GET', '/api/v1/nothing-here'],
      ['POST', '/nope'],
      ['DELETE', `/api/v1/research/${id}/cancel/again`],
      ['GET', '/api/v1/research/'],
      ['DELETE', '/api/v1/research/'],
      ['GET', '/api/v1/research//cancel'],
      ['OPTIONS', '/api/v2/research'],
    ])('%s %s stays a 404 route_not_found, without Allow', async (method, path) => {
      const response = await stack.http.request(method, path);
      expectError(response, 404, 'route_not_found', {});
      expect(response.headers.get('allow')).toBeNull();
    });
  });

  describe('CORS', () => {
    const APP = 'http://app.example.test';

    it('sends no CORS header at all when no origin is configured', async () => {
      const simple = await stack.http.get('/api/v1/research', { Origin: APP });
      expect(simple.status).toBe(200);
      expect(corsHeaders(simple)).toEqual([]);
      const preflight = await stack.http.request('OPTIONS', '/api/v1/research', {
        headers: { Origin: APP, 'Access-Control-Request-Method': 'POST' },
      });
      expect(preflight.status).toBe(405);
      expect(corsHeaders(preflight)).toEqual([]);
    });

    describe('with an allow-list', () => {
      let api: AppProcess;
      let base: string;

      beforeAll(async () => {
        const port = await freePort();
        api = await AppProcess.startServing(
          'api',
          { ...stack.env, PORT: String(port), CORS_ORIGINS: `${APP}, http://localhost:5173` },
          port,
        );
        base = `http://127.0.0.1:${port}`;
      });

      afterAll(async () => {
        await api?.stop();
      });

      it('answers a preflight from a listed origin with the methods and headers the api takes', async () => {
        const response = await fetch(`${base}/api/v1/research`, {
          method: 'OPTIONS',
          headers: {
            Origin: APP,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'content-type, idempotency-key, x-api-key',
          },
        });
        expect(response.status).toBe(204);
        expect(response.headers.get('access-control-allow-origin')).toBe(APP);
        expect(response.headers.get('access-control-allow-methods')?.split(', ')).toEqual(
          expect.arrayContaining(['GET', 'POST', 'DELETE']),
        );
        expect(response.headers.get('access-control-allow-headers')?.toLowerCase().split(', ')).toEqual(
          expect.arrayContaining(['content-type', 'idempotency-key', 'authorization', 'x-api-key', 'x-request-id']),
        );
        expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0);
        expect(response.headers.get('vary')).toMatch(/Origin/);
      });

      it('lets a listed origin read the answer and the headers it needs', async () => {
        const response = await fetch(`${base}/api/v1/research`, {
          method: 'POST',
          headers: { Origin: 'http://localhost:5173', 'content-type': 'application/json' },
          body: JSON.stringify({ question: 'asked from a browser page' }),
        });
        expect(response.status).toBe(202);
        expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
        expect(response.headers.get('access-control-expose-headers')?.toLowerCase().split(', ')).toEqual(
          expect.arrayContaining(['x-request-id', 'location', 'retry-after']),
        );
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      });

      it('gives other origins, and lookalikes of listed ones, no CORS header', async () => {
        for (const origin of ['http://evil.example.test', `${APP}.evil.test`, 'https://app.example.test', 'null']) {
          const simple = await fetch(`${base}/api/v1/research`, { headers: { Origin: origin } });
          expect([origin, simple.status, corsHeaders(simple)]).toEqual([origin, 200, []]);
          const preflight = await fetch(`${base}/api/v1/research`, {
            method: 'OPTIONS',
            headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
          });
          expect([origin, preflight.status, corsHeaders(preflight)]).toEqual([origin, 405, []]);
        }
      });

      it('answers an OPTIONS that is not a preflight like any method the path does not serve', async () => {
        const known = await fetch(`${base}/api/v1/documents`, { method: 'OPTIONS', headers: { Origin: APP } });
        expect([known.status, known.headers.get('allow')]).toEqual([405, 'GET, HEAD, POST']);
        const unknown = await fetch(`${base}/api/v1/nothing-here`, { method: 'OPTIONS' });
        expect(unknown.status).toBe(404);
      });
    });
  });

  describe('error details: one shape for every error', () => {
    it('lists field problems for validation, and names values for every other error', async () => {
      const id = await stack.submit({ question: 'a research to refuse things about' });
      const missing = '7b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b';
      const cases: [string, Promise<HttpResponse>, number, string, unknown][] = [
        [
          'validation',
          stack.http.post('/api/v1/research', { question: 'q', max_sources: 99 }),
          400,
          'validation_failed',
          [{ field: 'max_sources', message: 'max_sources must not be greater than 50' }],
        ],
        [
          'malformed JSON',
          stack.http.request('POST', '/api/v1/research', {
            raw: '{"question":',
            headers: { 'content-type': 'application/json' },
          }),
          400,
          'malformed_json',
          {},
        ],
        ['an unknown research', stack.http.get(`/api/v1/research/${missing}`), 404, 'not_found', { id: missing }],
        ['an unknown route', stack.http.get('/api/v1/nothing-here'), 404, 'route_not_found', {}],
        [
          'a research that is not failed',
          stack.http.post(`/api/v1/research/${id}/retry`),
          409,
          'research_not_retryable',
          { status: 'pending' },
        ],
        [
          'a body over the limit',
          stack.http.request('POST', '/api/v1/research', {
            raw: JSON.stringify({ question: 'x'.repeat(70 * 1024) }),
            headers: { 'content-type': 'application/json' },
          }),
          413,
          'payload_too_large',
          { max_bytes: 65536 },
        ],
        [
          'a body that is not JSON',
          stack.http.request('POST', '/api/v1/research', {
            raw: 'question=q',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
          415,
          'unsupported_media_type',
          { supported: ['application/json'] },
        ],
      ];
      for (const [what, sent, status, code, details] of cases) {
        const response = await sent;
        expect([what, response.status, response.body?.error?.code]).toEqual([what, status, code]);
        expectError(response, status, code, details);
      }
    });

    it('answers errors Node and Fastify raise before any route in the same shape', async () => {
      const noHost = await socketExchange(stack.apiPort, ['GET /api/v1/research HTTP/1.1\r\n\r\n'], {
        timeoutMs: 5000,
      });
      expect(noHost.status).toBe(400);
      expect(errorShapeProblem(noHost.json)).toBeUndefined();
      expect((noHost.json as { error: { details: unknown } }).error.details).toEqual({});
      const garbage = await socketExchange(stack.apiPort, ['GARBAGE\r\n\r\n'], { timeoutMs: 5000 });
      expect(garbage.status).toBe(400);
      expect(errorShapeProblem(garbage.json)).toBeUndefined();
    });

    it('says what is in the OpenAPI document, where every error response has the same schema', async () => {
      const document = (await stack.http.get('/docs-json')).body;
      const details = document.components.schemas.ErrorBodyDto.properties.details;
      expect(document.components.schemas.ErrorBodyDto.required).toEqual(
        expect.arrayContaining(['code', 'message', 'details']),
      );
      expect(details.oneOf).toEqual([
        expect.objectContaining({ type: 'array', items: expect.objectContaining({ required: ['field', 'message'] }) }),
        expect.objectContaining({ type: 'object' }),
      ]);
      expect(details.description).toContain('validation_failed');
      expect(document.info.description).toContain('405');
    });
  });

  describe('errors say nothing of the server', () => {
    it('answers a database error with a generic 500: no SQL, no table, no stack, the request id to quote', async () => {
      await stack.database.query('ALTER TABLE documents RENAME TO documents_moved_away');
      let response: HttpResponse;
      try {
        response = await stack.http.get('/api/v1/documents', { 'X-Request-Id': 'db-error-1' });
      } finally {
        await stack.database.query('ALTER TABLE documents_moved_away RENAME TO documents');
      }
      expectError(response, 500, 'internal_error', {});
      expect(response.body.error.message).toBe('internal error; quote the request_id when reporting it');
      expect(response.text).not.toMatch(/documents|SELECT|relation|QueryFailed|\bat\b.*\.js/i);
      expect(response.body.request_id).toBe('db-error-1');
      // The log keeps what the answer leaves out, under the same request id.
      const logged = await stack.api!.waitForLog(
        'the unhandled error',
        (line) => line.message === 'unhandled error' && line.request_id === 'db-error-1',
      );
      expect(JSON.stringify(logged)).toMatch(/does not exist/);
      expect((await stack.http.get('/api/v1/documents')).status).toBe(200);
    });
  });

  describe('Idempotency-Key', () => {
    const body = JSON.stringify({ question: 'idempotent question' });
    const post = (headerLines: string[]) =>
      socketExchange(
        stack.apiPort,
        [
          'POST /api/v1/research HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n' +
            headerLines.map((line) => `${line}\r\n`).join('') +
            `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        ],
        { timeoutMs: 5000 },
      );

    it.each([
      ['empty', ['Idempotency-Key:'], 'is empty'],
      ['blank', ['Idempotency-Key:    '], 'is empty'],
      ['sent twice', ['Idempotency-Key: a', 'Idempotency-Key: b'], 'must be 1 to 255 visible ASCII characters'],
    ])('refuses a key that is %s with 400 instead of ignoring it, and stores nothing', async (_, lines, message) => {
      const before = await count('researches');
      const response = await post(lines);
      expect(response.status).toBe(400);
      expect(errorShapeProblem(response.json)).toBeUndefined();
      const error = (response.json as { error: { code: string; details: { field: string; message: string }[] } }).error;
      expect(error.code).toBe('validation_failed');
      expect(error.details).toEqual([{ field: 'Idempotency-Key', message: expect.stringContaining(message) }]);
      expect(await count('researches')).toBe(before);
    });

    it('still takes a request without the header, and a real key once', async () => {
      expect((await post([])).status).toBe(202);
      const first = await post(['Idempotency-Key: order-42']);
      const again = await post(['Idempotency-Key: order-42']);
      expect([first.status, again.status]).toEqual([202, 202]);
      expect((again.json as { research_id: string }).research_id).toBe(
        (first.json as { research_id: string }).research_id,
      );
    });
  });
});

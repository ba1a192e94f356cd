import { RawResponse, TestStack, errorShapeProblem, socketExchange } from '@app/testing';

/** Every kind of bad input gets the right 4xx in the common error shape, and stores nothing. */
describe('bad input', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create({
      label: 'badinput',
      env: { DOCUMENT_MAX_BYTES: '4096', HTTP_BODY_TIMEOUT_MS: '2000', HTTP_HEADERS_TIMEOUT_MS: '2000' },
    });
    await stack.startApi();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  const count = async (table: string) =>
    Number((await stack.database.query(`SELECT count(*) AS n FROM ${table}`))[0]?.n);

  function expectErrorShape(response: { status: number; body: any; headers: Headers }, status: number, code: string) {
    expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
    expect(errorShapeProblem(response.body)).toBeUndefined();
    expect(response.body.request_id).toBe(response.headers.get('x-request-id'));
  }

  const raw = (body: string | Buffer, contentType?: string, path = '/api/v1/research') =>
    stack.http.request('POST', path, {
      raw: body,
      headers: contentType ? { 'content-type': contentType } : {},
    });

  describe('POST /api/v1/research', () => {
    const valid = { question: 'a valid question' };
    const invalidBodies: [string, unknown, string][] = [
      ['missing question', {}, 'question'],
      ['whitespace-only question', { question: '   \n\t ' }, 'question'],
      ['question over 2000 characters', { question: 'q'.repeat(2001) }, 'question'],
      ['question of the wrong type', { question: 42 }, 'question'],
      ['question with a NUL character', { question: 'before\u0000after' }, 'question'],
      ['max_sources 0', { ...valid, max_sources: 0 }, 'max_sources'],
      ['max_sources 51', { ...valid, max_sources: 51 }, 'max_sources'],
      ['max_sources not an integer', { ...valid, max_sources: 1.5 }, 'max_sources'],
      ['max_sources as a string', { ...valid, max_sources: '10' }, 'max_sources'],
      ['max_sources null', { ...valid, max_sources: null }, 'max_sources'],
      ['verify as a string', { ...valid, verify: 'true' }, 'verify'],
      ['verify as a number', { ...valid, verify: 1 }, 'verify'],
      ['language not a BCP-47 tag', { ...valid, language: 'not a tag!!' }, 'language'],
      ['language empty', { ...valid, language: '' }, 'language'],
      ['language too long', { ...valid, language: `en-${'x'.repeat(40)}` }, 'language'],
      ['language of the wrong type', { ...valid, language: 7 }, 'language'],
      ['an unknown field', { ...valid, priority: 'high' }, 'priority'],
    ];

    it.each(invalidBodies)('refuses %s with 400 naming the field', async (_, body, field) => {
      const before = await count('researches');
      const response = await stack.http.post('/api/v1/research', body);
      expectErrorShape(response, 400, 'validation_failed');
      expect(response.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(await count('researches')).toBe(before);
    });

    it.each([
      ['malformed JSON', '{"question": "unterminated', 'application/json', 400, 'malformed_json'],
      ['an empty JSON body', '', 'application/json', 400, 'malformed_json'],
      ['a JSON array', '[{"question":"q"}]', 'application/json', 400, 'validation_failed'],
      ['a JSON string', '"question"', 'application/json', 400, 'validation_failed'],
      ['JSON null', 'null', 'application/json', 400, 'validation_failed'],
      [
        'a prototype-polluting body',
        '{"question":"q","__proto__":{"admin":true}}',
        'application/json',
        400,
        'malformed_json',
      ],
      ['a text/plain body', 'question=hello', 'text/plain', 415, 'unsupported_media_type'],
      ['a form body', 'question=hello', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
    ])('refuses %s', async (_, body, contentType, status, code) => {
      const before = await count('researches');
      expectErrorShape(await raw(body, contentType), status, code);
      expect(await count('researches')).toBe(before);
    });

    it('refuses a request with no body', async () => {
      expectErrorShape(await stack.http.request('POST', '/api/v1/research'), 400, 'validation_failed');
    });

    it('refuses a body over 64 KiB with 413 and stores nothing', async () => {
      const before = await count('researches');
      const response = await raw(JSON.stringify({ question: 'x'.repeat(70 * 1024) }), 'application/json');
      expectErrorShape(response, 413, 'payload_too_large');
      expect(await count('researches')).toBe(before);
    });

    it('refuses a malformed Idempotency-Key', async () => {
      const response = await stack.http.post('/api/v1/research', valid, { 'Idempotency-Key': 'k'.repeat(256) });
      expectErrorShape(response, 400, 'validation_failed');
    });

    it('accepts the boundaries: a 2000-character question, max_sources 1 and 50, and canonicalises the language', async () => {
      const longest = await stack.http.post('/api/v1/research', {
        question: `  ${'字'.repeat(2000)}  `,
        max_sources: 50,
      });
      expect(longest.status).toBe(202);
      expect(longest.body.question).toBe('字'.repeat(2000));
      const smallest = await stack.http.post('/api/v1/research', { question: 'q', max_sources: 1, language: 'zh-tw' });
      expect(smallest.status).toBe(202);
      const stored = await stack.research(smallest.body.research_id);
      expect(stored).toMatchObject({ max_sources: 1, language: 'zh-TW', verify: true });
    });
  });

  describe('reading', () => {
    it.each([
      ['/api/v1/research/abc123def456', 'validation_failed', 400],
      ['/api/v1/research/1%27%20OR%201=1', 'validation_failed', 400],
      ['/api/v1/research?limit=0', 'validation_failed', 400],
      ['/api/v1/research?limit=101', 'validation_failed', 400],
      ['/api/v1/research?limit=ten', 'validation_failed', 400],
      ['/api/v1/research?status=done', 'validation_failed', 400],
      ['/api/v1/research?cursor=not-a-cursor', 'validation_failed', 400],
      ['/api/v1/research?sort=asc', 'validation_failed', 400],
      ['/api/v1/documents?cursor=not-a-cursor', 'validation_failed', 400],
      ['/api/v1/nothing-here', 'route_not_found', 404],
    ])('GET %s answers %s', async (path, code, status) => {
      expectErrorShape(await stack.http.get(path), status, code);
    });
  });

  describe('documents', () => {
    it.each([
      ['no title', { text: 'some text' }, 'title'],
      ['an empty text', { title: 't', text: '' }, 'text'],
      ['a non-http url', { title: 't', text: 'x', url: 'ftp://example.com/file' }, 'url'],
      ['metadata that is an array', { title: 't', text: 'x', metadata: [1, 2] }, 'metadata'],
      ['metadata over 16 KiB', { title: 't', text: 'x', metadata: { blob: 'b'.repeat(17 * 1024) } }, 'metadata'],
      ['a NUL character in the text', { title: 't', text: 'a\u0000b' }, 'text'],
    ])('refuses %s with 400', async (_, body, field) => {
      const before = await count('documents');
      const response = await stack.http.post('/api/v1/documents', body);
      expectErrorShape(response, 400, 'validation_failed');
      expect(response.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(await count('documents')).toBe(before);
    });

    it('refuses a text over DOCUMENT_MAX_BYTES with 413 and says the limit', async () => {
      const response = await stack.http.post('/api/v1/documents', { title: 'big', text: '文'.repeat(2000) });
      expectErrorShape(response, 413, 'payload_too_large');
      expect(response.body.error.details).toEqual({ bytes: 6000, max_bytes: 4096 });
      expect(await count('documents')).toBe(0);
    });

    it('refuses a body far over the documents route limit with 413', async () => {
      const response = await stack.http.request('POST', '/api/v1/documents', {
        raw: JSON.stringify({ title: 'huge', text: 'x'.repeat(200 * 1024) }),
        headers: { 'content-type': 'application/json' },
      });
      expectErrorShape(response, 413, 'payload_too_large');
    });

    it('stores a document once, lists, gets and deletes it', async () => {
      const body = {
        title: '  Packaging notes ',
        text: 'CoWoS joins logic and HBM on an interposer.',
        url: 'https://example.com/cowos',
      };
      const created = await stack.http.post('/api/v1/documents', body);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ title: 'Packaging notes', url: 'https://example.com/cowos', metadata: {} });
      expect(created.headers.get('location')).toBe(`/api/v1/documents/${created.body.document_id}`);

      const again = await stack.http.post('/api/v1/documents', { ...body, title: 'Other title' });
      expect(again.status).toBe(200);
      expect(again.body.document_id).toBe(created.body.document_id);

      const list = await stack.http.get('/api/v1/documents');
      expect(list.body.items.map((d: { document_id: string }) => d.document_id)).toEqual([created.body.document_id]);
      // Pages follow the cursor, newest first.
      const second = await stack.http.post('/api/v1/documents', { title: 'Second', text: 'Another text.' });
      const first = await stack.http.get('/api/v1/documents?limit=1');
      expect(first.body.items.map((d: { document_id: string }) => d.document_id)).toEqual([second.body.document_id]);
      const next = await stack.http.get(`/api/v1/documents?limit=1&cursor=${first.body.next_cursor}`);
      expect(next.body).toEqual({
        items: [expect.objectContaining({ document_id: created.body.document_id })],
        next_cursor: null,
      });
      expect((await stack.http.delete(`/api/v1/documents/${second.body.document_id}`)).status).toBe(204);
      const one = await stack.http.get(`/api/v1/documents/${created.body.document_id}`);
      expect(one.body.text).toBe(body.text);

      expect((await stack.http.delete(`/api/v1/documents/${created.body.document_id}`)).status).toBe(204);
      expectErrorShape(await stack.http.get(`/api/v1/documents/${created.body.document_id}`), 404, 'not_found');
      expectErrorShape(await stack.http.delete(`/api/v1/documents/${created.body.document_id}`), 404, 'not_found');
    });
  });

  describe('hostile input', () => {
    const someId = '3f0c2f7e-8b9a-4c1e-9a57-1d2c3b4a5e6f';
    const cursorAt = (date: string) => Buffer.from(JSON.stringify([date, someId])).toString('base64url');
    const fieldsOf = (response: { body: any }) =>
      (response.body.error.details as { field: string }[]).map((detail) => detail.field);

    async function expectRefused(
      send: () => Promise<{ status: number; body: any; headers: Headers }>,
      table: string,
      field: string,
    ) {
      const before = await count(table);
      const response = await send();
      expectErrorShape(response, 400, 'validation_failed');
      expect(fieldsOf(response)).toContain(field);
      expect(await count(table)).toBe(before);
      return response;
    }

    /** The common shape on an answer read from a bare connection. */
    function expectRawErrorShape(response: RawResponse, status: number, code: string) {
      const body = response.json as { error: { code: string; message: string }; request_id: string };
      expect({ status: response.status, code: body?.error?.code }).toEqual({ status, code });
      expect(errorShapeProblem(body)).toBeUndefined();
      expect(body.request_id).toBe(response.headers['x-request-id']);
    }

    it('refuses JSON nested 5000 deep inside budget with 400 naming the body', async () => {
      const deep = `{"question":"q","budget":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      const before = await count('researches');
      const response = await raw(deep, 'application/json');
      expectErrorShape(response, 400, 'validation_failed');
      expect(response.body.error.details).toEqual([
        { field: 'body', message: 'the request body nests objects and arrays deeper than 32 levels' },
      ]);
      expect(await count('researches')).toBe(before);
    });

    it('accepts a document whose metadata nests as deep as the limit allows', async () => {
      const metadata = JSON.parse(`${'{"a":'.repeat(30)}1${'}'.repeat(30)}`) as Record<string, unknown>;
      const response = await stack.http.post('/api/v1/documents', { title: 't', text: 'deep metadata', metadata });
      expect(response.status).toBe(201);
      expect((await stack.http.get(`/api/v1/documents/${response.body.document_id}`)).body.metadata).toEqual(metadata);
    });

    it.each([
      ['a lone surrogate in a metadata value', { metadata: { a: 'x\ud800' } }, 'metadata.a'],
      ['a lone surrogate deep in metadata', { metadata: { a: [{ b: '\udfff' }] } }, 'metadata.a.0.b'],
      ['a lone surrogate in a metadata key', { metadata: { '\ud800': 1 } }, 'metadata.\\uD800'],
      ['a NUL in a metadata key', { metadata: { 'a\u0000': 1 } }, 'metadata.a\\u0000'],
      ['a NUL in a metadata value', { metadata: { a: '\u0000' } }, 'metadata.a'],
      ['a NUL in the url', { url: 'https://example.com/a\u0000b' }, 'url'],
      ['a lone surrogate in the title', { title: 'title \ud83d' }, 'title'],
      ['a lone surrogate in the text', { text: 'text \udc00 text' }, 'text'],
    ])('refuses a document with %s, naming the field', async (_, fields, field) => {
      const document = { title: 't', text: `text of ${field}`, ...fields };
      const response = await expectRefused(() => stack.http.post('/api/v1/documents', document), 'documents', field);
      expect(response.body.error.message).toMatch(/NUL|lone surrogate/);
    });

    it('refuses a research question with a lone surrogate, naming it', async () => {
      await expectRefused(
        () => stack.http.post('/api/v1/research', { question: 'why \ud800?' }),
        'researches',
        'question',
      );
    });

    it('refuses a body that is not UTF-8 instead of storing replacement characters', async () => {
      const before = await count('researches');
      const body = Buffer.concat([Buffer.from('{"question":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
      expectErrorShape(await raw(body, 'application/json'), 400, 'malformed_json');
      expect(await count('researches')).toBe(before);
    });

    it.each(['/api/v1/research', '/api/v1/documents'])(
      'refuses on %s a cursor holding a date the database does not accept',
      async (path) => {
        for (const date of ['-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00.000Z']) {
          const response = await stack.http.get(`${path}?cursor=${cursorAt(date)}`);
          expectErrorShape(response, 400, 'validation_failed');
          expect(response.body.error.details).toEqual([{ field: 'cursor', message: 'cursor is not valid' }]);
        }
      },
    );

    it.each(['/api/v1/research', '/api/v1/documents'])(
      'refuses NULs and broken text in queries on %s',
      async (path) => {
        const nul = await stack.http.get(`${path}?cursor=%00`);
        expectErrorShape(nul, 400, 'validation_failed');
        expect(fieldsOf(nul)).toEqual(['cursor']);
      },
    );

    it('refuses query text whose percent-encoding is not UTF-8, naming the parameter, instead of searching for it', async () => {
      // A lone surrogate as a careless encoder writes it, and a byte that starts no UTF-8 character.
      for (const [query, field] of [
        ['resource_id=%ED%A0%BD', 'resource_id'],
        ['actor=anonymous&resource_id=%FF', 'resource_id'],
      ]) {
        const response = await stack.http.get(`/api/v1/audit?${query}`);
        expectErrorShape(response, 400, 'validation_failed');
        expect(response.body.error.details).toEqual([
          { field, message: `${field} is not validly percent-encoded UTF-8` },
        ]);
      }
      expect((await stack.http.get('/api/v1/audit?resource_id=%E4%B8%AD')).status).toBe(200);
    });

    const prototypeNames = ['toString', 'valueOf', 'hasOwnProperty', 'prototype', 'constructor', 'isPrototypeOf'];

    it.each(prototypeNames)('refuses %s as a field of a research, at the top and in budget', async (name) => {
      await expectRefused(() => raw(`{"question":"q","${name}":1}`, 'application/json'), 'researches', name);
      await expectRefused(
        () => raw(`{"question":"q","budget":{"max_tokens":5000,"${name}":1}}`, 'application/json'),
        'researches',
        `budget.${name}`,
      );
    });

    it.each(prototypeNames)('refuses %s as a field of a document', async (name) => {
      await expectRefused(
        () => raw(`{"title":"t","text":"x","${name}":1}`, 'application/json', '/api/v1/documents'),
        'documents',
        name,
      );
    });

    it.each(['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'])(
      'refuses ?%s=1 in the query of both lists',
      async (name) => {
        for (const path of ['/api/v1/research', '/api/v1/documents']) {
          const response = await stack.http.get(`${path}?${name}=1`);
          expectErrorShape(response, 400, 'validation_failed');
          expect(response.body.error.details).toEqual([{ field: name, message: `property ${name} should not exist` }]);
        }
      },
    );

    it('stores metadata keys named like methods of an object exactly as sent', async () => {
      const metadata = { toString: 'a', valueOf: 2, hasOwnProperty: [true], isPrototypeOf: { toJSON: null }, x: 1 };
      const created = await stack.http.post('/api/v1/documents', { title: 't', text: 'method-named keys', metadata });
      expect(created.status).toBe(201);
      expect(created.body.metadata).toEqual(metadata);
      expect((await stack.http.get(`/api/v1/documents/${created.body.document_id}`)).body.metadata).toEqual(metadata);
    });

    it.each(['constructor', 'prototype', '__proto__'])(
      'refuses the reserved name %s in metadata rather than dropping it',
      async (name) => {
        const body = `{"title":"t","text":"reserved ${name}","metadata":{"a":{"${name}":1}}}`;
        const before = await count('documents');
        const response = await raw(body, 'application/json', '/api/v1/documents');
        // Fastify's own parser refuses __proto__ anywhere as malformed JSON, before validation.
        if (name === '__proto__') expectErrorShape(response, 400, 'malformed_json');
        else {
          expectErrorShape(response, 400, 'validation_failed');
          expect(fieldsOf(response)).toEqual([`metadata.a.${name}`]);
        }
        expect(await count('documents')).toBe(before);
      },
    );

    it('answers a body trickling in a byte at a time with 408 once its time is up, and closes the connection', async () => {
      const before = await count('researches');
      const body = '{"question":"one byte at a time"}';
      const response = await socketExchange(
        stack.apiPort,
        [
          `POST /api/v1/research HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
          ...body.split(''),
        ],
        { dripMs: 250, timeoutMs: 10_000, untilClosed: true },
      );
      expectRawErrorShape(response, 408, 'request_timeout');
      expect(response.closed).toBe(true);
      // HTTP_BODY_TIMEOUT_MS is 2 s here; the whole body would have taken 8 s.
      expect(response.elapsedMs).toBeGreaterThanOrEqual(1900);
      expect(response.elapsedMs).toBeLessThan(5000);
      expect(await count('researches')).toBe(before);
    });

    it('answers headers trickling in with 408 in the common shape, and closes the connection', async () => {
      const response = await socketExchange(
        stack.apiPort,
        ['GET /api/v1/research HTTP/1.1\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: x\r\n`)],
        { dripMs: 250, timeoutMs: 10_000, untilClosed: true },
      );
      expectRawErrorShape(response, 408, 'request_timeout');
      expect(response.closed).toBe(true);
      expect(response.elapsedMs).toBeLessThan(5000);
    });

    it.each([
      [
        'a path that is not UTF-8',
        'GET /api/v1/research/%ED%A0%80 HTTP/1.1\r\nHost: test\r\n\r\n',
        400,
        'malformed_request',
      ],
      [
        'an id longer than a path segment may be',
        `GET /api/v1/research/${'a'.repeat(150)} HTTP/1.1\r\nHost: test\r\n\r\n`,
        414,
        'uri_too_long',
      ],
      ['an HTTP/1.1 request without Host', 'GET /api/v1/research HTTP/1.1\r\n\r\n', 400, 'malformed_request'],
      ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400, 'malformed_request'],
      [
        'headers over 16 KiB',
        `GET /health HTTP/1.1\r\nHost: test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        'headers_too_large',
      ],
    ])('answers %s in the common shape', async (_, request, status, code) => {
      expectRawErrorShape(await socketExchange(stack.apiPort, [request], { timeoutMs: 5000 }), status, code);
    });
  });

  it('never answered 500 and logged no unhandled error', () => {
    const api = stack.api!;
    expect(api.lines.filter((line) => line.status_code === 500)).toEqual([]);
    expect(api.lines.filter((line) => line.message === 'unhandled error')).toEqual([]);
  });
});

import { OpenApiDocument, hostileRequests, operationsOf, validSample } from './hostile-requests';

const document: OpenApiDocument = {
  paths: {
    '/items': {
      post: { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } } } },
      get: { parameters: [{ name: 'limit', in: 'query', schema: { type: 'number', minimum: 1 } }] },
    },
    '/items/{id}': { delete: { parameters: [{ name: 'id', in: 'path', schema: { type: 'string' } }] } },
  },
  components: {
    schemas: {
      Item: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', example: 'a name' },
          size: { type: 'number', minimum: 3 },
          limits: { allOf: [{ $ref: '#/components/schemas/Limits' }] },
          meta: { type: 'object', example: { a: 1 } },
        },
      },
      Limits: { type: 'object', properties: { max: { type: 'number', example: 9 } } },
    },
  },
};

const options = { seed: 42, count: 1000, bodyLimitBytes: 1024 };

describe('hostileRequests', () => {
  it('resolves references into a valid sample of each body', () => {
    const post = operationsOf(document).find((operation) => operation.method === 'POST')!;
    expect(validSample(post.body!)).toEqual({ name: 'a name', size: 3, limits: { max: 9 }, meta: { a: 1 } });
  });

  it('gives the same requests for the same seed, and others for another seed', () => {
    const labels = (seed: number) => hostileRequests(document, { ...options, seed }).map((request) => request.label);
    expect(labels(42)).toEqual(labels(42));
    expect(labels(43)).not.toEqual(labels(42));
  });

  it('tries every operation, and its body, query and path', () => {
    const labels = hostileRequests(document, options).map((request) => request.label);
    for (const prefix of ['POST /items: body', 'GET /items: query', 'DELETE /items/{id}: path id', 'raw HTTP:']) {
      expect(labels.some((label) => label.startsWith(prefix))).toBe(true);
    }
  });

  it('marks what must be refused: unknown fields of an object with a schema, not of a free-form one', () => {
    const requests = hostileRequests(document, options);
    const extra = (place: RegExp) => requests.filter((request) => place.test(request.label));
    const inSchema = extra(/^POST \/items: body extra (limits\.)?"/);
    const plainInFreeForm = extra(/^POST \/items: body extra meta\."(zzz|toString|valueOf|hasOwnProperty|id)"$/);
    const reservedInFreeForm = extra(/^POST \/items: body extra meta\."(constructor|prototype|__proto__)"$/);
    for (const found of [inSchema, plainInFreeForm, reservedInFreeForm]) expect(found.length).toBeGreaterThan(0);
    expect(inSchema.every((request) => request.mustRefuse)).toBe(true);
    // Unless the value holds a NUL or a lone surrogate, which JSON.stringify writes as escapes.
    const clean = plainInFreeForm.filter((request) => !/\\u0000|\\ud[89a-f]/i.test(String(request.body)));
    expect(clean.length).toBeGreaterThan(0);
    expect(clean.some((request) => request.mustRefuse)).toBe(false);
    expect(reservedInFreeForm.every((request) => request.mustRefuse)).toBe(true);
  });
});

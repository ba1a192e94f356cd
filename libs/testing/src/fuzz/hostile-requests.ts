import fc from 'fast-check';

/** One request of the fuzz test. */
export interface HostileRequest {
  /** What the request tries, to name it in a failure report. */
  label: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** The schema or HTTP itself rules the request out: anything but a 4xx is a bug. */
  mustRefuse?: boolean;
  /** Sent as these raw bytes on a connection of its own instead, a chunk every `dripMs`. */
  socket?: { chunks: (string | Buffer)[]; dripMs?: number };
  /**
   * The server may refuse it by closing the connection while the body is still being written:
   * the client may then get a reset instead of the answer that was sent.
   */
  mayReset?: boolean;
}

/** The parts of an OpenAPI 3 document the generator reads. */
export interface OpenApiSchema {
  type?: string;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  example?: unknown;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  $ref?: string;
  allOf?: OpenApiSchema[];
}

export interface OpenApiParameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: OpenApiSchema;
}

export interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      { parameters?: OpenApiParameter[]; requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> } }
    >
  >;
  components?: { schemas?: Record<string, OpenApiSchema> };
}

export interface FuzzOptions {
  seed: number;
  /** Requests generated from the document, on top of the fixed cases. */
  count: number;
  /** Ids of stored resources, used in paths beside random and malformed ones. */
  knownIds?: readonly string[];
  /** The default request body limit of the api, to send bodies over it. */
  bodyLimitBytes: number;
}

/** One operation of the document, its schemas resolved. */
export interface Operation {
  method: string;
  path: string;
  query: OpenApiParameter[];
  pathParams: OpenApiParameter[];
  headers: OpenApiParameter[];
  body?: OpenApiSchema;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/**
 * Hostile requests built from the api's OpenAPI document: every operation and parameter gets
 * wrong types, boundary numbers, huge, empty, deep and broken strings, lone surrogates, NULs,
 * prototype keys, extra fields, bad cursors and ids, wrong content types, malformed JSON and
 * bytes, oversized bodies and odd methods; and some raw HTTP no client would send. The same
 * seed gives the same requests.
 */
export function hostileRequests(document: OpenApiDocument, options: FuzzOptions): HostileRequest[] {
  const operations = operationsOf(document);
  const ids = idSegment(options.knownIds ?? []);
  const kinds: fc.WeightedArbitrary<HostileRequest>[] = [];
  for (const operation of operations) {
    const path = fc.constantFrom(...pathsOf(operation, ids));
    if (operation.body) {
      kinds.push(
        { weight: 8, arbitrary: bodyFieldMutation(operation, path) },
        { weight: 3, arbitrary: bodyMissingField(operation, path) },
        { weight: 5, arbitrary: bodyExtraField(operation, path) },
        { weight: 2, arbitrary: bodyNotAnObject(operation, path) },
        { weight: 2, arbitrary: bodyDeep(operation, path) },
        { weight: 3, arbitrary: bodyMalformed(operation, path) },
        { weight: 2, arbitrary: bodyBrokenBytes(operation, path) },
        { weight: 2, arbitrary: bodyContentType(operation, path) },
        { weight: 1, arbitrary: bodyOversized(operation, path, options.bodyLimitBytes) },
      );
    }
    if (operation.query.length > 0) kinds.push({ weight: 6, arbitrary: queryMutation(operation, path) });
    if (operation.pathParams.length > 0) kinds.push({ weight: 4, arbitrary: pathMutation(operation) });
    kinds.push(
      { weight: 2, arbitrary: headerMutation(operation, path) },
      { weight: 1, arbitrary: oddMethod(operation, path) },
    );
  }
  kinds.push({ weight: 3, arbitrary: rawHttp(operations) });
  const generated = fc.sample(fc.oneof(...kinds), { seed: options.seed, numRuns: options.count });
  return [...fixedCases(), ...generated];
}

/** The operations of the document, with `$ref` and single `allOf` schemas resolved. */
export function operationsOf(document: OpenApiDocument): Operation[] {
  const resolve = (schema: OpenApiSchema | undefined): OpenApiSchema | undefined => {
    if (!schema) return undefined;
    if (schema.$ref) return resolve(document.components?.schemas?.[schema.$ref.split('/').pop() ?? '']);
    if (schema.allOf?.length === 1) return resolve({ ...schema, ...schema.allOf[0], allOf: undefined });
    if (!schema.properties) return schema;
    const properties = Object.fromEntries(
      Object.entries(schema.properties).map(([name, property]) => [name, resolve(property) ?? {}]),
    );
    return { ...schema, properties };
  };
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const parameters = operation.parameters ?? [];
      return {
        method: method.toUpperCase(),
        path,
        query: parameters.filter((p) => p.in === 'query'),
        pathParams: parameters.filter((p) => p.in === 'path'),
        headers: parameters.filter((p) => p.in === 'header'),
        body: resolve(operation.requestBody?.content?.['application/json']?.schema),
      };
    }),
  );
}

/** A value every rule of the schema accepts, from its examples and defaults. */
export function validSample(schema: OpenApiSchema): unknown {
  if (schema.properties) {
    return Object.fromEntries(
      Object.entries(schema.properties).map(([name, property]) => [name, validSample(property)]),
    );
  }
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum?.length) return schema.enum[0];
  if (schema.type === 'number' || schema.type === 'integer') return schema.minimum ?? 1;
  if (schema.type === 'boolean') return true;
  if (schema.type === 'object') return {};
  return 'a valid string';
}

// ---- values --------------------------------------------------------------------------------

/** Any UTF-16 code units: lone surrogates, NULs and control characters included. */
const codeUnits = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
  maxLength: 12,
});

const specialStrings = fc.constantFrom(
  '',
  ' ',
  '\t\r\n',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'x\udc00\ud800y',
  '\ud83d',
  '\ufeff',
  '\u202e',
  '\uffff',
  '😀',
  '字',
  'null',
  'undefined',
  'NaN',
  'true',
  '-1',
  '1e309',
  "'; DROP TABLE researches; --",
  '${jndi:ldap://example.com/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../etc/passwd',
  '%00',
  '%ED%A0%80',
  '\\',
  '"',
  'zh-tw',
  'x-private-tag',
  `en-${'a'.repeat(40)}`,
  'http://',
  'javascript:alert(1)',
  'http://localhost:99999/',
  'http://[::1',
  'https://example.com/\u0000',
  'file:///etc/passwd',
  '2026-02-30T00:00:00.000Z',
  '00000000-0000-0000-0000-000000000000',
);

const hugeStrings = fc.constantFrom('q'.repeat(2001), '字'.repeat(2001), '😀'.repeat(2001), ' '.repeat(3000));

const hostileString = fc.oneof(
  { weight: 4, arbitrary: specialStrings },
  { weight: 3, arbitrary: codeUnits },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: hugeStrings },
);

const boundaryNumbers = fc.constantFrom(
  0,
  -1,
  1,
  1.5,
  4,
  5,
  49,
  50,
  51,
  100,
  101,
  999,
  1000,
  10_000,
  10_000.01,
  86_400,
  86_401,
  100_000_001,
  2 ** 31,
  -(2 ** 31),
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  1e308,
  -1e308,
  5e-324,
);

/** An object with one own property, `__proto__` included (JSON.stringify writes it). */
function withOwn(target: Record<string, unknown>, name: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

const RESERVED_NAMES = ['__proto__', 'constructor', 'prototype'];

const prototypeNames = [
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
  'constructor',
  'prototype',
  '__proto__',
];

const extraNames = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...prototypeNames) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('zzz', '', ' ', 'a\u0000', '\ud800', 'Question', 'tenant_id', 'id', 'status'),
  },
  { weight: 1, arbitrary: codeUnits },
);

const prototypeObject = fc
  .tuple(fc.constantFrom(...prototypeNames), fc.jsonValue({ maxDepth: 1 }))
  .map(([name, value]) => withOwn({}, name, value));

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: hostileString },
  { weight: 3, arbitrary: boundaryNumbers },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: prototypeObject },
);

// ---- paths, queries and headers --------------------------------------------------------------

/** Percent-encodes any string, lone surrogates as the bytes a careless encoder writes for them. */
function percentEncode(value: string): string {
  let encoded = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    encoded +=
      code >= 0xd800 && code <= 0xdfff
        ? `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase()
        : encodeURIComponent(char);
  }
  return encoded;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const someUuid = '3f0c2f7e-8b9a-4c1e-9a57-1d2c3b4a5e6f';

const hostileCursor = fc.oneof(
  fc.constantFrom(
    base64url(['-271821-04-20T00:00:00.000Z', someUuid]),
    base64url(['+275760-09-13T00:00:00.000Z', someUuid]),
    base64url(['0000-01-01T00:00:00.000Z', someUuid]),
    base64url(['2026-02-30T00:00:00.000Z', someUuid]),
    base64url(['2026-11-25T10:30:00.000Z', '1 OR 1=1']),
    base64url(['2026-11-25T10:30:00.000Z', someUuid, 'extra']),
    base64url({ createdAt: '2026-11-25T10:30:00.000Z', id: someUuid }),
    base64url([[[[[[[[[[[]]]]]]]]]]]),
    base64url(['2026-11-25T10:30:00.000Z\u0000', someUuid]),
    'not-a-cursor',
    '====',
    'A'.repeat(513),
  ),
  fc
    .tuple(
      fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        hostileValue,
      ),
      fc.oneof(fc.uuid(), hostileValue),
    )
    .map((pair) => base64url(pair)),
  hostileString,
);

function idSegment(knownIds: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    ...(knownIds.length > 0 ? [fc.constantFrom(...knownIds)] : []),
    fc.uuid(),
    fc.uuid().map((id) => id.toUpperCase()),
    fc.constantFrom('abc123def456', '1%27%20OR%201=1', '%00', '%ED%A0%80', '%2e%2e', '..', 'a'.repeat(101), '%FF', '%'),
    hostileString.map(percentEncode),
  );
}

function pathsOf(operation: Operation, ids: fc.Arbitrary<string>): string[] {
  if (operation.pathParams.length === 0) return [operation.path];
  // A few concrete paths per operation, drawn once; path mutations draw many more.
  return fc.sample(ids, { seed: operation.path.length, numRuns: 5 }).map((id) => fillPath(operation.path, id));
}

function fillPath(template: string, id: string): string {
  return template.replace(/\{[^}]+\}/g, id);
}

function pathMutation(operation: Operation): fc.Arbitrary<HostileRequest> {
  const ids = idSegment([]);
  return fc.tuple(ids, fc.constantFrom('', '/', '//', '?x=1', '/extra')).map(([id, suffix]) =>
    request(operation, `path id ${JSON.stringify(id)}${suffix}`, {
      path: fillPath(operation.path, id) + suffix,
      ...bodyOf(operation),
      // Malformed, or random and so unknown, or with a suffix no route has.
      mustRefuse: true,
    }),
  );
}

function queryMutation(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  const names = operation.query.map((p) => p.name);
  const value = (name: string) => (name === 'cursor' ? hostileCursor : hostileValue.map(asText));
  const pair = fc.oneof(
    fc.constantFrom(...names).chain((name) => value(name).map((v) => [name, v] as const)),
    fc.tuple(extraNames, hostileString),
  );
  return fc.tuple(path, fc.array(pair, { minLength: 1, maxLength: 3 })).map(([base, pairs]) => {
    const query = pairs.map(([name, v]) => `${percentEncode(name)}=${percentEncode(v)}`).join('&');
    const unknown = pairs.some(([name, v]) => !names.includes(name) || hasBrokenText(v));
    return request(operation, `query ${JSON.stringify(pairs).slice(0, 200)}`, {
      path: `${base}?${query}`,
      ...bodyOf(operation),
      mustRefuse: unknown,
    });
  });
}

/** Header values Node's client lets through: visible Latin-1 and tabs. */
const headerText = fc.oneof(
  fc.string({
    unit: fc
      .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
      .map((c) => String.fromCharCode(c)),
    maxLength: 300,
  }),
  fc.constantFrom('', ' ', 'k'.repeat(256), 'k'.repeat(20_000), 'valid-key-1'),
);

function headerMutation(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  const names = fc.constantFrom(
    'idempotency-key',
    'x-request-id',
    'content-length',
    'accept',
    'x-forwarded-for',
    'host',
  );
  return fc.tuple(path, names, headerText).map(([base, name, value]) => {
    const body = bodyOf(operation);
    // A Content-Length that disagrees with the body goes on a raw connection: Node's client refuses it.
    if (name === 'content-length') {
      const payload = Buffer.from(String(body.body ?? ''));
      const declared = /^\d{1,6}$/.test(value) ? value : String(payload.length + 5);
      const request = socketRequest(`content-length ${declared} for ${payload.length} bytes`, [
        `${operation.method} ${base} HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
        payload,
      ]);
      // A GET is answered without its body; a request whose body is read waits for it in vain.
      return { ...request, mustRefuse: operation.method !== 'GET' && Number(declared) !== payload.length };
    }
    return request(operation, `header ${name}: ${JSON.stringify(value.slice(0, 80))}`, {
      path: base,
      ...body,
      headers: { ...body.headers, [name]: value },
    });
  });
}

function oddMethod(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  const methods = fc.constantFrom(
    'GET',
    'POST',
    'PUT',
    'PATCH',
    'DELETE',
    'OPTIONS',
    'TRACE',
    'PROPFIND',
    'SEARCH',
    'LOCK',
    'PURGE',
  );
  return fc.tuple(path, methods, fc.boolean()).map(([base, method, withBody]) =>
    request(operation, `method ${method}`, {
      method,
      path: base,
      // A TRACE must not have a body: Node reads one as the next request on the connection,
      // which would fail whatever request came next. The raw HTTP cases send one.
      ...(withBody && method !== 'TRACE'
        ? { body: JSON.stringify(validSample(operation.body ?? {})), headers: JSON_TYPE }
        : {}),
    }),
  );
}

// ---- bodies --------------------------------------------------------------------------------

/** Dotted paths of every property of the body schema, nested ones included. */
function fieldPaths(schema: OpenApiSchema, parent = ''): string[] {
  return Object.entries(schema.properties ?? {}).flatMap(([name, property]) => {
    const path = parent ? `${parent}.${name}` : name;
    return [path, ...fieldPaths(property, path)];
  });
}

/** Dotted paths of the objects in a valid body (the root is ''). */
function objectPaths(schema: OpenApiSchema, parent = ''): string[] {
  return [
    parent,
    ...Object.entries(schema.properties ?? {})
      .filter(([, property]) => property.properties || property.type === 'object')
      .flatMap(([name, property]) => objectPaths(property, parent ? `${parent}.${name}` : name)),
  ];
}

function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const names = path.split('.');
  const last = names.pop()!;
  let current = target;
  for (const name of names) {
    if (typeof current[name] !== 'object' || current[name] === null) current[name] = {};
    current = current[name] as Record<string, unknown>;
  }
  withOwn(current, last, value);
}

function objectAt(target: Record<string, unknown>, path: string): Record<string, unknown> {
  return path === '' ? target : (path.split('.').reduce((o, name) => o[name] as Record<string, unknown>, target) ?? {});
}

const clone = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

function bodyFieldMutation(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  const fields = fieldPaths(operation.body!);
  return fc.tuple(path, fc.constantFrom(...fields), hostileValue).map(([base, field, value]) => {
    const body = clone(validSample(operation.body!));
    setAt(body, field, value);
    return jsonRequest(operation, base, `body ${field} = ${excerpt(value)}`, body);
  });
}

function bodyMissingField(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  const fields = fieldPaths(operation.body!);
  return fc.tuple(path, fc.subarray(fields, { minLength: 1 })).map(([base, missing]) => {
    const body = clone(validSample(operation.body!));
    for (const field of missing) {
      const names = field.split('.');
      const last = names.pop()!;
      delete objectAt(body, names.join('.'))[last];
    }
    const required = operation.body!.required ?? [];
    return jsonRequest(operation, base, `body without ${missing.join(', ')}`, body, {
      mustRefuse: missing.some((field) => required.includes(field)),
    });
  });
}

function bodyExtraField(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  const places = objectPaths(operation.body!);
  return fc.tuple(path, fc.constantFrom(...places), extraNames, hostileValue).map(([base, place, name, value]) => {
    const body = clone(validSample(operation.body!));
    withOwn(objectAt(body, place), name, value);
    // A DTO has no field of that name; a free-form object refuses only reserved or broken names.
    const freeForm = place !== '' && !schemaAt(operation.body!, place).properties;
    const refused = !freeForm || RESERVED_NAMES.includes(name) || hasBrokenText(name);
    return jsonRequest(operation, base, `body extra ${place ? `${place}.` : ''}${JSON.stringify(name)}`, body, {
      mustRefuse: refused,
    });
  });
}

function bodyNotAnObject(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  return fc
    .tuple(path, fc.oneof(hostileValue, fc.jsonValue({ maxDepth: 4 })))
    .filter(([, value]) => typeof value !== 'object' || value === null || Array.isArray(value))
    .map(([base, value]) => jsonRequest(operation, base, `body ${excerpt(value)}`, value, { mustRefuse: true }));
}

function bodyDeep(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  const places = fieldPaths(operation.body!);
  const depths = fc.constantFrom(31, 32, 33, 64, 1000, 5000, 20_000);
  return fc.tuple(path, fc.constantFrom(...places), depths, fc.boolean()).map(([base, place, depth, arrays]) => {
    const body = clone(validSample(operation.body!));
    setAt(body, place, '\u0001deep\u0001');
    const nested = arrays
      ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const text = JSON.stringify(body).replace('"\\u0001deep\\u0001"', nested);
    return request(operation, `body ${place} nested ${depth} deep`, {
      path: base,
      body: text,
      headers: JSON_TYPE,
      // Inside the body's own object: one level more than `depth`, past the limit of 32.
      mustRefuse: depth >= 32,
    });
  });
}

function bodyMalformed(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  const valid = JSON.stringify(validSample(operation.body!));
  const breakers: fc.Arbitrary<[string, string]> = fc.oneof(
    fc
      .integer({ min: 0, max: valid.length - 1 })
      .map((at): [string, string] => [`truncated at ${at}`, valid.slice(0, at)]),
    fc.constantFrom<[string, string]>(
      ['trailing comma', valid.replace(/}$/, ',}')],
      ['trailing garbage', `${valid}garbage`],
      ['two documents', `${valid}${valid}`],
      ['single quotes', valid.replace(/"/g, "'")],
      ['a comment', `/* c */${valid}`],
      ['NaN', valid.replace(/}$/, ',"max_sources":NaN}')],
      ['a huge number', valid.replace(/}$/, `,"max_sources":1${'0'.repeat(400)}}`)],
      ['a duplicated key', valid.replace(/^{/, '{"question":7,')],
      ['a byte order mark', `\ufeff${valid}`],
      ['a lone surrogate escape in a key', valid.replace(/^{/, '{"\\ud800":1,')],
      ['a bad escape', valid.replace(/^{/, '{"a":"\\x41",')],
      ['an unescaped control character', valid.replace(/^{/, '{"a":"\u0001\u0002",')],
      ['an empty body', ''],
      ['whitespace', ' \n\t '],
      ['a constructor prototype', valid.replace(/^{/, '{"constructor":{"prototype":{"polluted":true}},')],
      ['a __proto__ key', valid.replace(/^{/, '{"__proto__":{"polluted":true},')],
    ),
    fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((text) => ['random text', text] as [string, string]),
  );
  return fc.tuple(path, breakers).map(([base, [what, text]]) =>
    request(operation, `malformed JSON: ${what}`, {
      path: base,
      body: text,
      headers: JSON_TYPE,
      // A byte order mark is skipped, and the last of duplicated keys wins, as in JSON.parse.
      mustRefuse: what !== 'a byte order mark' && what !== 'a duplicated key',
    }),
  );
}

function bodyBrokenBytes(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  const valid = JSON.stringify(validSample(operation.body!));
  const bytes = fc.constantFrom(
    [0xff],
    [0xc0, 0x80],
    [0xed, 0xa0, 0x80],
    [0xe2, 0x82],
    [0xf4, 0x90, 0x80, 0x80],
    [0xfe, 0xff],
  );
  return fc.tuple(path, bytes).map(([base, raw]) => {
    // Into the first string value of the body.
    const at = valid.indexOf('":"') + 3;
    const body = Buffer.concat([Buffer.from(valid.slice(0, at)), Buffer.from(raw), Buffer.from(valid.slice(at))]);
    return request(operation, `invalid UTF-8 ${Buffer.from(raw).toString('hex')}`, {
      mustRefuse: true,
      path: base,
      body,
      headers: JSON_TYPE,
    });
  });
}

/** Content types the api reads as JSON. */
const JSON_TYPES_READ: readonly (string | undefined)[] = [
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/json, text/plain',
];

function bodyContentType(operation: Operation, path: fc.Arbitrary<string>): fc.Arbitrary<HostileRequest> {
  const types = fc.constantFrom(
    undefined,
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    'application/json, text/plain',
    'APPLICATION/JSON',
    'application/vnd.api+json',
    'application/json; charset=utf-8',
    '',
    ';;;',
    'application/octet-stream',
    'text/html',
    'application/xml',
  );
  return fc.tuple(path, types, fc.boolean()).map(([base, type, asForm]) => {
    const valid = validSample(operation.body!) as Record<string, unknown>;
    const body = asForm
      ? new URLSearchParams(Object.entries(valid).map(([k, v]): [string, string] => [k, asText(v)])).toString()
      : JSON.stringify(valid);
    return request(operation, `content-type ${JSON.stringify(type)}`, {
      path: base,
      body,
      mustRefuse: asForm || !JSON_TYPES_READ.includes(type),
      headers: type === undefined ? {} : { 'content-type': type },
    });
  });
}

/**
 * Bodies a few times over the limit. The api answers 413 as soon as it reads Content-Length and
 * closes the connection, as HTTP allows; with a body of megabytes the client is often still
 * writing then, and loses the answer to the reset.
 */
function bodyOversized(operation: Operation, path: fc.Arbitrary<string>, limit: number): fc.Arbitrary<HostileRequest> {
  const fields = Object.keys(operation.body!.properties ?? {});
  return fc.tuple(path, fc.constantFrom(...fields), fc.constantFrom(1.1, 2, 8)).map(([base, field, factor]) => {
    const body = clone(validSample(operation.body!));
    body[field] = 'x'.repeat(Math.ceil(limit * factor));
    return {
      ...jsonRequest(operation, base, `body over the limit (${factor}x) in ${field}`, body, { mustRefuse: true }),
      mayReset: true,
    };
  });
}

// ---- raw HTTP ------------------------------------------------------------------------------

function rawHttp(operations: Operation[]): fc.Arbitrary<HostileRequest> {
  const posts = operations.filter((o) => o.method === 'POST' && o.body).map((o) => o.path);
  const target = fc.constantFrom(...(posts.length > 0 ? posts : ['/']));
  return fc.oneof(
    fc.constantFrom(
      socketRequest('a garbage request line', ['GARBAGE\r\n\r\n']),
      socketRequest('an unknown method', ['BREW /api/v1/research HTTP/1.1\r\nHost: fuzz\r\n\r\n']),
      socketRequest('a space in the method', ['GE T / HTTP/1.1\r\nHost: fuzz\r\n\r\n']),
      socketRequest('HTTP/1.1 without Host', ['GET /api/v1/research HTTP/1.1\r\n\r\n']),
      socketRequest('HTTP/9.9', ['GET / HTTP/9.9\r\nHost: fuzz\r\n\r\n']),
      socketRequest('a header without a colon', ['GET / HTTP/1.1\r\nHost: fuzz\r\nNoColonHere\r\n\r\n']),
      socketRequest('a NUL in a header', ['GET / HTTP/1.1\r\nHost: fuzz\r\nX-A: a\u0000b\r\n\r\n']),
      socketRequest('headers over 16 KiB', [`GET / HTTP/1.1\r\nHost: fuzz\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]),
      socketRequest('Content-Length and Transfer-Encoding', [
        'POST /api/v1/research HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ]),
      socketRequest('a bad chunk size', [
        'POST /api/v1/research HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      ]),
      socketRequest('a TRACE with a body', [
        'TRACE /api/v1/research HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
      ]),
      socketRequest('a negative Content-Length', [
        'POST /api/v1/research HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}',
      ]),
    ),
    fc
      .tuple(target, fc.constantFrom('body', 'headers'))
      .map(([path, part]) =>
        part === 'body'
          ? socketRequest(
              `a body trickled to ${path}`,
              [
                `POST ${path} HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n`,
                ...'{"question":"trickled, one byte a time"}'.split(''),
              ],
              400,
            )
          : socketRequest(
              `headers trickled to ${path}`,
              [`POST ${path} HTTP/1.1\r\n`, ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: x\r\n`)],
              400,
            ),
      ),
  );
}

// ---- the cases of the bug report -----------------------------------------------------------

function fixedCases(): HostileRequest[] {
  const json = (label: string, method: string, path: string, body: unknown): HostileRequest => ({
    label,
    method,
    path,
    headers: JSON_TYPE,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    mustRefuse: true,
  });
  const get = (label: string, path: string): HostileRequest => ({
    label,
    method: 'GET',
    path,
    headers: {},
    mustRefuse: true,
  });
  const deep = `{"question":"x","budget":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  const earliest = base64url(['-271821-04-20T00:00:00.000Z', someUuid]);
  return [
    json('budget nested 5000 deep', 'POST', '/api/v1/research', deep),
    json('a lone surrogate in document metadata', 'POST', '/api/v1/documents', {
      title: 't',
      text: 'lone surrogate',
      metadata: { a: '\ud800' },
    }),
    json('a NUL in a document url', 'POST', '/api/v1/documents', {
      title: 't',
      text: 'nul url',
      url: 'https://example.com/a\u0000b',
    }),
    get('the earliest date in a research cursor', `/api/v1/research?cursor=${earliest}`),
    get('the earliest date in a document cursor', `/api/v1/documents?cursor=${earliest}`),
    ...['toString', 'valueOf', 'hasOwnProperty', 'prototype', 'constructor'].map((name) =>
      json(`${name} as a field`, 'POST', '/api/v1/research', `{"question":"x","${name}":1}`),
    ),
    get('?constructor=1', '/api/v1/research?constructor=1'),
    get('?__proto__=1', '/api/v1/research?__proto__=1'),
  ];
}

// ---- helpers -------------------------------------------------------------------------------

function bodyOf(operation: Operation): Pick<HostileRequest, 'body' | 'headers'> {
  return operation.body
    ? { body: JSON.stringify(validSample(operation.body)), headers: { ...JSON_TYPE } }
    : { headers: {} };
}

function request(
  operation: Operation,
  what: string,
  parts: Partial<HostileRequest> & Pick<HostileRequest, 'path'>,
): HostileRequest {
  return {
    method: operation.method,
    headers: {},
    ...parts,
    label: `${operation.method} ${operation.path}: ${what}`,
  };
}

function jsonRequest(
  operation: Operation,
  path: string,
  what: string,
  body: unknown,
  options: { mustRefuse?: boolean } = {},
): HostileRequest {
  const text = JSON.stringify(body);
  return request(operation, what, {
    path,
    body: text,
    headers: JSON_TYPE,
    // NULs and lone surrogates are refused wherever they are.
    mustRefuse: Boolean(options.mustRefuse) || holdsBrokenText(body),
  });
}

function socketRequest(label: string, chunks: (string | Buffer)[], dripMs?: number): HostileRequest {
  return {
    label: `raw HTTP: ${label}`,
    method: 'RAW',
    path: '',
    headers: {},
    socket: { chunks, dripMs },
    mustRefuse: true,
  };
}

/** Whether a string holds a NUL or a lone surrogate, which the api always refuses. */
function hasBrokenText(value: string): boolean {
  return value.includes('\u0000') || !value.isWellFormed();
}

/** Whether a string, or a property name, anywhere in a JSON value has broken text. */
function holdsBrokenText(value: unknown): boolean {
  if (typeof value === 'string') return hasBrokenText(value);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([name, child]) => hasBrokenText(name) || holdsBrokenText(child));
}

/** The schema of the object at a dotted path of the body. */
function schemaAt(schema: OpenApiSchema, path: string): OpenApiSchema {
  return path === '' ? schema : path.split('.').reduce((current, name) => current.properties?.[name] ?? {}, schema);
}

/** A value as a query or form field would carry it. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

function excerpt(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}… (${text.length} characters)` : text;
}

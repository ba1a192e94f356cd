import { DomainError, IsSmallJsonObject, present } from '@app/common';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsString, ValidateIf, ValidateNested } from 'class-validator';
import { RequestValidationPipe } from './validation.pipe';

class LimitsDto {
  @ValidateIf(present)
  @IsInt()
  max?: number;
}

class ExampleBodyDto {
  @IsString()
  name: string;

  @ValidateIf(present)
  @ValidateNested()
  @IsObject()
  @Type(() => LimitsDto)
  limits?: LimitsDto;

  @ValidateIf(present)
  @Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => obj[key])
  @IsSmallJsonObject(4096)
  extra?: Record<string, unknown>;
}

class ExampleQueryDto {
  @ValidateIf(present)
  @IsIn(['a', 'b'])
  status?: string;
}

const pipe = new RequestValidationPipe();
const body = (value: unknown) => pipe.transform(value, { type: 'body', metatype: ExampleBodyDto }) as Promise<unknown>;
const query = (value: unknown) =>
  pipe.transform(value, { type: 'query', metatype: ExampleQueryDto }) as Promise<unknown>;

/** The field problems of a refused input; fails the test when the input is accepted. */
async function problems(validation: Promise<unknown>): Promise<{ field: string; message: string }[]> {
  const outcome = await validation.then(
    (value) => ({ accepted: value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`accepted: ${JSON.stringify(outcome.accepted)}`);
  expect(outcome.error).toBeInstanceOf(DomainError);
  expect((outcome.error as DomainError).code).toBe('validation_failed');
  return (outcome.error as DomainError).details as { field: string; message: string }[];
}

// JSON.parse makes `__proto__` an own property, as Fastify's parser would without its guard.
const parsed = (json: string) => JSON.parse(json) as Record<string, unknown>;

describe('RequestValidationPipe', () => {
  it('hands a custom parameter decorator its own value back at once, not a promise of it', () => {
    const tenant = { tenantId: 'acme' };
    expect(pipe.transform(tenant, { type: 'custom', metatype: Object })).toBe(tenant);
    expect(pipe.transform(null, { type: 'custom', metatype: String })).toBeNull();
  });

  describe('unknown fields, looked up among own properties only', () => {
    const names = ['toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'constructor', 'prototype', '__proto__'];

    it.each(names)('refuses %s in a body, naming it', async (name) => {
      expect(await problems(body(parsed(`{"name":"x","${name}":1}`)))).toEqual([
        { field: name, message: `property ${name} should not exist` },
      ]);
    });

    it.each(names)('refuses %s in a nested object', async (name) => {
      expect(await problems(body(parsed(`{"name":"x","limits":{"max":3,"${name}":1}}`)))).toEqual([
        { field: `limits.${name}`, message: `property ${name} should not exist` },
      ]);
    });

    it.each(names)('refuses %s in a query string', async (name) => {
      // Fastify's query parser gives objects without a prototype.
      const value = Object.assign(Object.create(null) as object, { status: 'a' });
      Object.defineProperty(value, name, { value: '1', enumerable: true, writable: true, configurable: true });
      expect(await problems(query(value))).toEqual([{ field: name, message: `property ${name} should not exist` }]);
    });

    it('names unknown fields together with the other problems of the request', async () => {
      expect(await problems(body({ name: 7, toString: 1, zzz: 2, limits: { max: 'x' } }))).toEqual([
        { field: 'toString', message: 'property toString should not exist' },
        { field: 'zzz', message: 'property zzz should not exist' },
        { field: 'name', message: 'name must be a string' },
        { field: 'limits.max', message: 'max must be an integer number' },
      ]);
    });
  });

  describe('free-form objects', () => {
    it('keeps every key as sent, those named like methods of an object included', async () => {
      const extra = { toString: 1, valueOf: 'v', hasOwnProperty: [1], toJSON: null, deep: { isPrototypeOf: true } };
      const dto = (await body({ name: 'x', extra })) as ExampleBodyDto;
      expect(JSON.parse(JSON.stringify(dto.extra))).toEqual(extra);
    });

    it.each(['constructor', 'prototype', '__proto__'])('refuses the reserved name %s at any depth', async (name) => {
      expect(await problems(body(parsed(`{"name":"x","extra":{"a":{"${name}":{"b":1}}}}`)))).toEqual([
        {
          field: `extra.a.${name}`,
          message: `extra.a.${name} is not allowed: __proto__, constructor, prototype are reserved names`,
        },
      ]);
    });
  });

  describe('text PostgreSQL cannot store as sent', () => {
    const nul = 'must not contain NUL (U+0000) characters';
    const lone = 'must be valid Unicode: it contains a lone surrogate (U+D800 to U+DFFF)';

    it.each([
      ['a NUL in a field', { name: 'a\u0000b' }, 'name', `name ${nul}`],
      ['a lone high surrogate', { name: 'a\ud800' }, 'name', `name ${lone}`],
      ['a lone low surrogate', { name: '\udc00b' }, 'name', `name ${lone}`],
      ['surrogates in the wrong order', { name: '\udc00\ud800' }, 'name', `name ${lone}`],
      [
        'a NUL deep in a free-form object',
        { name: 'x', extra: { a: [{ b: 'c\u0000' }] } },
        'extra.a.0.b',
        `extra.a.0.b ${nul}`,
      ],
      ['a lone surrogate in a free-form object', { name: 'x', extra: { a: '\ud800' } }, 'extra.a', `extra.a ${lone}`],
      ['a NUL in a key', { name: 'x', extra: { 'k\u0000': 1 } }, 'extra.k\\u0000', `the name of extra.k\\u0000 ${nul}`],
      [
        'a lone surrogate in a key',
        { name: 'x', extra: { '\ud800k': 1 } },
        'extra.\\uD800k',
        `the name of extra.\\uD800k ${lone}`,
      ],
    ])('refuses %s, naming the field', async (_, value, field, message) => {
      expect(await problems(body(value))).toEqual([{ field, message }]);
    });

    it('names an unknown field whose name is broken text in a printable form', async () => {
      expect(await problems(body({ name: 'x', 'a\ud800': 1 }))).toEqual([
        { field: 'a\\uD800', message: 'property a\\uD800 should not exist' },
      ]);
    });

    it('refuses broken text in queries and path parameters', async () => {
      expect(await problems(query({ status: 'a\u0000' }))).toEqual(
        expect.arrayContaining([{ field: 'status', message: `status ${nul}` }]),
      );
      expect(
        await problems(pipe.transform('\ud800', { type: 'param', metatype: String, data: 'id' }) as Promise<unknown>),
      ).toEqual([{ field: 'id', message: `id ${lone}` }]);
    });

    it('accepts characters outside the Basic Multilingual Plane and other control characters', async () => {
      const dto = (await body({ name: '😀 字 \u0001\t\n', extra: { '𝄞': '\uffff' } })) as ExampleBodyDto;
      expect(dto).toMatchObject({ name: '😀 字 \u0001\t\n', extra: { '𝄞': '\uffff' } });
    });

    it('names at most 20 problems', async () => {
      const extra = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, '\u0000']));
      const found = await problems(body({ name: 'x', extra }));
      expect(found).toHaveLength(20);
      expect(found[0]).toEqual({ field: 'extra.k0', message: `extra.k0 ${nul}` });
    });
  });
});

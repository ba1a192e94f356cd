import Ajv2020 from 'ajv/dist/2020';
import { SchemaInstanceError, minimalInstance, wrongShape } from './json-schema.generator';

const ajv = new Ajv2020({ strict: true, strictTypes: false, allowUnionTypes: true, validateFormats: false });
const valid = (schema: Record<string, unknown>, value: unknown): boolean => ajv.validate(schema, value) as boolean;

describe('minimalInstance', () => {
  it.each<[string, Record<string, unknown>, unknown]>([
    ['const', { const: 'fixed' }, 'fixed'],
    ['enum', { type: 'string', enum: ['b', 'a'] }, 'b'],
    ['nullable string', { type: ['null', 'string'] }, 'value'],
    ['null', { type: 'null' }, null],
    ['boolean', { type: 'boolean' }, true],
    ['integer bounds', { type: 'integer', minimum: 7, maximum: 9 }, 7],
    ['negative range', { type: 'integer', maximum: -3 }, -3],
    ['number exclusive bounds', { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 0.5 }, 0.25],
    ['minLength', { type: 'string', minLength: 8 }, 'value...'],
    ['maxLength', { type: 'string', maxLength: 2 }, 'va'],
    ['pattern', { type: 'string', pattern: '^[0-9]+$' }, '0'],
    ['format', { type: 'string', format: 'date' }, '2024-01-01'],
    ['maxItems 0', { type: 'array', items: { type: 'string' }, maxItems: 0 }, []],
    ['one item by default', { type: 'array', items: { type: 'integer' } }, [0]],
    [
      'tuple',
      { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer', minimum: 2 }], items: false, minItems: 2 },
      ['value', 2],
    ],
    ['anything', {}, null],
  ])('%s', (_name, schema, expected) => {
    const instance = minimalInstance(schema);
    expect(instance).toEqual(expected);
    expect(valid(schema, instance)).toBe(true);
  });

  it('fills only the required properties, through $ref and allOf', () => {
    const schema = {
      $defs: { named: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
      allOf: [{ $ref: '#/$defs/named' }, { properties: { age: { type: 'integer', minimum: 18 } }, required: ['age'] }],
      properties: { optional: { type: 'string' } },
    };
    expect(minimalInstance(schema)).toEqual({ name: 'name', age: 18 });
    expect(valid(schema, minimalInstance(schema))).toBe(true);
  });

  it('refuses schemas with no instance or a $ref it cannot resolve', () => {
    expect(() => minimalInstance({ $ref: '#/$defs/missing' })).toThrow(SchemaInstanceError);
    expect(() => minimalInstance({ $ref: 'https://example.com/schema' })).toThrow(SchemaInstanceError);
    expect(() =>
      minimalInstance({ type: 'object', required: ['x'], properties: {}, additionalProperties: false }),
    ).toThrow(SchemaInstanceError);
    const endless = { type: 'object', properties: { next: { $ref: '#' } }, required: ['next'] };
    expect(() => minimalInstance(endless)).toThrow(/recursion/);
  });
});

describe('wrongShape', () => {
  it.each<[string, Record<string, unknown>]>([
    [
      'required properties',
      { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false },
    ],
    [
      'closed object without required',
      { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false },
    ],
    ['open object', { type: 'object', properties: { a: { type: 'string' } } }],
    ['array', { type: 'array', items: { type: 'integer' } }],
    ['anyOf', { anyOf: [{ type: 'object' }, { type: 'array' }] }],
    ['integer', { type: 'integer' }],
  ])('breaks a schema with %s', (_name, schema) => {
    const instance = minimalInstance(schema);
    expect(valid(schema, instance)).toBe(true);
    const broken = wrongShape(schema, instance);
    expect(JSON.parse(JSON.stringify(broken))).toEqual(broken);
    expect(valid(schema, broken)).toBe(false);
  });
});

/**
 * Instances of a JSON Schema without a responder: the smallest valid one, and one that is
 * deliberately invalid. Covers the subset OpenAI's strict structured outputs accept, plus the
 * common bounds; `pattern` is honoured only when one of a few simple candidates happens to match.
 */

type Schema = Record<string, unknown>;

/** Past this depth recursive schemas take their exits (null, empty arrays) wherever they have one. */
const SHALLOW_DEPTH = 6;
const MAX_DEPTH = 40;

const FORMATS: Record<string, (variant: number) => string> = {
  'date-time': (variant) => `2024-01-${String(1 + (variant % 28)).padStart(2, '0')}T00:00:00Z`,
  date: (variant) => `2024-01-${String(1 + (variant % 28)).padStart(2, '0')}`,
  time: (variant) => `00:00:${String(variant % 60).padStart(2, '0')}Z`,
  email: (variant) => `user${variant || ''}@example.com`,
  uri: (variant) => `https://example.com/${variant || ''}`,
  url: (variant) => `https://example.com/${variant || ''}`,
  uuid: (variant) => `00000000-0000-4000-8000-${String(variant).padStart(12, '0')}`,
  hostname: (variant) => `host${variant || ''}.example.com`,
  ipv4: (variant) => `192.0.2.${variant % 256}`,
};

const PATTERN_CANDIDATES = ['a', 'A', '0', 'abc', 'ABC', '123', 'a1', 'A1', 'a-b', 'a_b', 'a.b', 'a@b.c'];

export class SchemaInstanceError extends Error {}

/** The smallest instance of `schema` that validates; `$ref`s resolve against `schema` itself. */
export function minimalInstance(schema: unknown): unknown {
  return new Generator(asSchema(schema)).instance(schema, 'value', 0, 0);
}

/**
 * Valid JSON that `schema` rejects, derived from a valid `value`: an object that lost its
 * required properties and gained an unknown one, or else a value of a type the schema refuses.
 */
export function wrongShape(schema: unknown, value: unknown): unknown {
  const root = asSchema(schema);
  const resolved = resolveTop(root, root);
  const allowed = allowedTypes(resolved, root);
  const record = isRecord(value) ? value : {};
  if (allowed.has('object') && !resolved.anyOf && !resolved.oneOf) {
    const required = Array.isArray(resolved.required) ? (resolved.required as string[]) : [];
    if (required.length > 0 || resolved.additionalProperties === false) {
      const broken: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(record)) if (!required.includes(key)) broken[key] = item;
      // renamed keys are what models get wrong most: a key the schema does not know
      broken[`unexpected_${required[0] ?? 'field'}`] = 'wrong shape';
      return broken;
    }
  }
  const candidates: Array<[string, unknown]> = [
    ['array', [value]],
    ['object', { unexpected: value }],
    ['string', 'wrong shape'],
    ['number', 0.5],
    ['boolean', true],
    ['null', null],
  ];
  for (const [type, candidate] of candidates) {
    if (!allowed.has(type)) return candidate;
  }
  return [value];
}

class Generator {
  constructor(private readonly root: Schema) {}

  instance(input: unknown, label: string, variant: number, depth: number): unknown {
    if (depth > MAX_DEPTH) throw new SchemaInstanceError('the schema has no finite instance (recursion too deep)');
    if (input === true || input === undefined) return null;
    if (input === false) throw new SchemaInstanceError('a `false` schema has no instance');
    const schema = asSchema(input);
    const shallow = depth >= SHALLOW_DEPTH;

    if (typeof schema.$ref === 'string') {
      return this.instance(resolveRef(this.root, schema.$ref), label, variant, depth + 1);
    }
    if ('const' in schema) return schema.const;
    if (Array.isArray(schema.enum) && schema.enum.length > 0) {
      return shallow ? schema.enum[0] : schema.enum[variant % schema.enum.length];
    }
    const branches = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
    if (Array.isArray(branches) && branches.length > 0) {
      // the first branch, unless recursion calls for the exit that ends it
      const exit = shallow ? branches.find((branch) => isNullSchema(branch)) : undefined;
      return this.instance(exit ?? branches[0], label, variant, depth + 1);
    }
    if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
      return this.instance(mergeAll(schema, this.root), label, variant, depth + 1);
    }

    switch (pickType(schema, shallow)) {
      case 'null':
        return null;
      case 'boolean':
        return variant % 2 === 0;
      case 'integer':
        return numberIn(schema, variant, true);
      case 'number':
        return numberIn(schema, variant, false);
      case 'string':
        return this.string(schema, label, variant);
      case 'array':
        return this.array(schema, label, variant, depth);
      case 'object':
        return this.object(schema, variant, depth);
      default:
        return null;
    }
  }

  private object(schema: Schema, variant: number, depth: number): Record<string, unknown> {
    const properties = isRecord(schema.properties) ? schema.properties : {};
    const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
    const keys = [...required];
    const minProperties = typeof schema.minProperties === 'number' ? schema.minProperties : 0;
    for (const key of Object.keys(properties)) {
      if (keys.length >= minProperties) break;
      if (!keys.includes(key)) keys.push(key);
    }
    for (let extra = 1; keys.length < minProperties; extra++) {
      if (schema.additionalProperties === false) throw new SchemaInstanceError('minProperties exceeds the properties');
      keys.push(`extra_${extra}`);
    }
    const value: Record<string, unknown> = {};
    for (const key of keys) {
      const propertySchema =
        key in properties
          ? properties[key]
          : schema.additionalProperties === false
            ? false
            : (schema.additionalProperties ?? true);
      value[key] = this.instance(propertySchema, key, variant, depth + 1);
    }
    return value;
  }

  private array(schema: Schema, label: string, variant: number, depth: number): unknown[] {
    const minItems = typeof schema.minItems === 'number' ? schema.minItems : 0;
    const maxItems = typeof schema.maxItems === 'number' ? schema.maxItems : Infinity;
    // one item shows the shape to whoever reads the reply; recursion takes the minimum
    const count = depth >= SHALLOW_DEPTH ? minItems : Math.min(Math.max(minItems, 1), maxItems);
    const prefix = Array.isArray(schema.prefixItems)
      ? schema.prefixItems
      : Array.isArray(schema.items)
        ? (schema.items as unknown[])
        : [];
    const rest = Array.isArray(schema.items) ? (schema.additionalItems ?? true) : (schema.items ?? true);
    const itemLabel = label.length > 3 ? label.replace(/ies$/, 'y').replace(/([^s])s$/, '$1') : label;
    const items: unknown[] = [];
    // variants keep the items distinct, which `uniqueItems` needs; a tuple's positions differ anyway
    for (let index = 0; index < count; index++) {
      items.push(
        index < prefix.length
          ? this.instance(prefix[index], itemLabel, variant, depth + 1)
          : this.instance(rest, itemLabel, variant + index, depth + 1),
      );
    }
    return items;
  }

  private string(schema: Schema, label: string, variant: number): string {
    const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
    const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
    const format = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined;
    let value = format ? format(variant) : variant > 0 ? `${label} ${variant + 1}` : label;
    if (typeof schema.pattern === 'string') value = matchPattern(schema.pattern, value, variant);
    // code points, as JSON Schema counts length
    const chars = Array.from(value);
    while (chars.length < minLength) chars.push('.');
    return chars.slice(0, maxLength).join('');
  }
}

/** A number within the bounds and `multipleOf`: near 0 (plus the variant) if allowed, else near a bound. */
function numberIn(schema: Schema, variant: number, integer: boolean): number {
  const minimum = finite(schema.minimum);
  const maximum = finite(schema.maximum);
  const exclusiveMinimum = finite(schema.exclusiveMinimum);
  const exclusiveMaximum = finite(schema.exclusiveMaximum);
  const step = finite(schema.multipleOf) ?? (integer ? 1 : undefined);
  const fits = (value: number): boolean =>
    Number.isFinite(value) &&
    (minimum === undefined || value >= minimum) &&
    (maximum === undefined || value <= maximum) &&
    (exclusiveMinimum === undefined || value > exclusiveMinimum) &&
    (exclusiveMaximum === undefined || value < exclusiveMaximum) &&
    (!integer || Number.isInteger(value)) &&
    (step === undefined || Math.abs(value / step - Math.round(value / step)) < 1e-9);
  const low = Math.max(minimum ?? -Infinity, exclusiveMinimum ?? -Infinity);
  const high = Math.min(maximum ?? Infinity, exclusiveMaximum ?? Infinity);
  const unit = step ?? 1;
  const up = (value: number): number => (step ? Math.ceil(value / step) * step : value);
  const down = (value: number): number => (step ? Math.floor(value / step) * step : value);
  const candidates = [
    variant * unit,
    up(low) + variant * unit,
    up(low),
    up(low) + unit,
    down(high) - variant * unit,
    down(high),
    down(high) - unit,
    up((low + high) / 2),
    (low + high) / 2,
  ];
  return candidates.find(fits) ?? (Number.isFinite(low) ? low : Number.isFinite(high) ? high : 0);
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function matchPattern(pattern: string, preferred: string, variant: number): string {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, 'u');
  } catch {
    return preferred;
  }
  if (regex.test(preferred)) return preferred;
  for (const candidate of PATTERN_CANDIDATES) {
    const varied = variant > 0 ? `${candidate}${variant}` : candidate;
    if (regex.test(varied)) return varied;
    if (regex.test(candidate)) return candidate;
  }
  return preferred;
}

function pickType(schema: Schema, shallow: boolean): string | undefined {
  const declared = schema.type;
  if (typeof declared === 'string') return declared;
  if (Array.isArray(declared) && declared.length > 0) {
    const types = declared as string[];
    // a real value is more use to the code under test than null, except to end a recursion
    if (shallow && types.includes('null')) return 'null';
    return types.find((type) => type !== 'null') ?? 'null';
  }
  if ('properties' in schema || 'required' in schema || 'additionalProperties' in schema) return 'object';
  if ('items' in schema || 'prefixItems' in schema || 'minItems' in schema) return 'array';
  if ('minLength' in schema || 'maxLength' in schema || 'pattern' in schema || 'format' in schema) return 'string';
  if ('minimum' in schema || 'maximum' in schema || 'exclusiveMinimum' in schema || 'exclusiveMaximum' in schema) {
    return 'number';
  }
  return undefined;
}

function isNullSchema(input: unknown): boolean {
  if (!isRecord(input)) return false;
  return input.type === 'null' || (Array.isArray(input.type) && input.type.includes('null')) || input.const === null;
}

function mergeAll(schema: Schema, root: Schema): Schema {
  const parts = [schema, ...(schema.allOf as unknown[]).map((part) => resolveTop(asSchema(part), root))];
  const merged: Schema = {};
  const properties: Record<string, unknown> = {};
  const required = new Set<string>();
  for (const part of parts) {
    for (const [key, item] of Object.entries(part)) {
      if (key === 'allOf' || key === 'properties' || key === 'required') continue;
      merged[key] = item;
    }
    if (isRecord(part.properties)) Object.assign(properties, part.properties);
    if (Array.isArray(part.required)) for (const key of part.required as string[]) required.add(key);
  }
  if (Object.keys(properties).length > 0) merged.properties = properties;
  if (required.size > 0) merged.required = [...required];
  return merged;
}

function resolveTop(schema: Schema, root: Schema): Schema {
  let current = schema;
  for (let hops = 0; typeof current.$ref === 'string' && hops < MAX_DEPTH; hops++) {
    current = asSchema(resolveRef(root, current.$ref));
  }
  return current;
}

function allowedTypes(schema: Schema, root: Schema): Set<string> {
  const branches = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (Array.isArray(branches)) {
    const union = new Set<string>();
    for (const branch of branches)
      for (const type of allowedTypes(resolveTop(asSchema(branch), root), root)) union.add(type);
    return union;
  }
  if ('const' in schema) return new Set([jsonType(schema.const)]);
  if (Array.isArray(schema.enum)) return new Set(schema.enum.map(jsonType));
  const declared = schema.type;
  const types = typeof declared === 'string' ? [declared] : Array.isArray(declared) ? (declared as string[]) : [];
  const inferred = types.length > 0 ? types : [pickType(schema, false)].filter((type) => type !== undefined);
  if (inferred.length === 0) return new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
  const set = new Set(inferred);
  // an integer is a number: a fractional number is still refused by `integer`
  if (set.has('number')) set.add('integer');
  return set;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** Resolves a local `$ref` (`#`, `#/$defs/x`, `#/definitions/x`, any JSON pointer into the document). */
function resolveRef(root: Schema, ref: string): unknown {
  if (!ref.startsWith('#')) throw new SchemaInstanceError(`only local $refs are supported, got ${ref}`);
  const pointer = ref.slice(1);
  if (pointer === '' || pointer === '/') return root;
  let target: unknown = root;
  for (const raw of pointer.replace(/^\//, '').split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isRecord(target) && !Array.isArray(target)) throw new SchemaInstanceError(`unresolvable $ref ${ref}`);
    target = (target as Record<string, unknown>)[key];
    if (target === undefined) throw new SchemaInstanceError(`unresolvable $ref ${ref}`);
  }
  return target;
}

function asSchema(input: unknown): Schema {
  if (input === true || input === undefined) return {};
  if (!isRecord(input)) throw new SchemaInstanceError(`not a schema: ${JSON.stringify(input)}`);
  return input;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { FieldProblem } from '@app/common';
import { getMetadataStorage } from 'class-validator';

/** A class whose properties carry class-validator rules: a request DTO. */
type DtoClass = abstract new (...args: never[]) => object;

/** Past this many, more problems would only make the answer longer. */
export const MAX_FIELD_PROBLEMS = 20;
/**
 * Names that Nest's validation pipe deletes and class-transformer skips, so a free-form object
 * holding them would be stored without them. They are refused instead.
 */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const RESERVED_LIST = [...RESERVED_NAMES].join(', ');
const NUL = '\u0000';

const allowedNamesCache = new WeakMap<DtoClass, ReadonlySet<string>>();

/**
 * What class-validator and class-transformer miss in a request's body, query or parameter, with
 * the field path of each problem:
 * - unknown fields of a DTO, nested DTOs included, looked up among own properties only (both
 *   libraries look names up through the prototype chain, so `toString`, `valueOf` or
 *   `hasOwnProperty` passed as fields went through unnoticed);
 * - strings, and names of properties, that PostgreSQL cannot store as sent: NUL characters, and
 *   lone surrogates, which are not Unicode (UTF-8 has no encoding for them);
 * - reserved names in free-form objects.
 * The walk uses its own stack: a deep value cannot overflow it.
 */
export function inputProblems(value: unknown, type: DtoClass | undefined, rootField: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const pending: { value: unknown; type: DtoClass | undefined; field: string }[] = [
    { value, type: type && isDtoClass(type) ? type : undefined, field: rootField },
  ];
  while (pending.length > 0 && problems.length < MAX_FIELD_PROBLEMS) {
    const { value: current, type: currentType, field } = pending.pop()!;
    if (typeof current === 'string') {
      const problem = textProblem(current);
      if (problem) problems.push({ field, message: `${field} ${problem}` });
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    const allowed = currentType && !Array.isArray(current) ? allowedNames(currentType) : undefined;
    const children: typeof pending = [];
    for (const name of Object.keys(current)) {
      const child = join(field, printable(name));
      const nameProblem = textProblem(name);
      if (allowed && !allowed.has(name)) {
        problems.push({ field: child, message: `property ${printable(name)} should not exist` });
      } else if (!allowed && RESERVED_NAMES.has(name)) {
        problems.push({ field: child, message: `${child} is not allowed: ${RESERVED_LIST} are reserved names` });
      } else if (nameProblem) {
        problems.push({ field: child, message: `the name of ${child} ${nameProblem}` });
      } else {
        const childValue = (current as Record<string, unknown>)[name];
        const childType = allowed ? nestedDto(currentType!, name, childValue) : undefined;
        children.push({ value: childValue, type: childType, field: child });
      }
    }
    // Reversed, so that the stack hands the fields back in the order they were sent.
    pending.push(...children.reverse());
  }
  return problems.slice(0, MAX_FIELD_PROBLEMS);
}

function textProblem(text: string): string | undefined {
  if (text.includes(NUL)) return 'must not contain NUL (U+0000) characters';
  if (!text.isWellFormed()) return 'must be valid Unicode: it contains a lone surrogate (U+D800 to U+DFFF)';
  return undefined;
}

/** The name with NULs and lone surrogates written as `\uXXXX`, safe to echo in a message. */
export function printable(name: string): string {
  if (!textProblem(name)) return name;
  let result = '';
  // A string iterates by code point: a lone surrogate comes out on its own.
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    const broken = code === 0 || (code >= 0xd800 && code <= 0xdfff);
    result += broken ? `\\u${code.toString(16).toUpperCase().padStart(4, '0')}` : char;
  }
  return result;
}

function join(parent: string, name: string): string {
  return parent ? `${parent}.${name}` : name;
}

function isDtoClass(type: DtoClass): boolean {
  return allowedNames(type).size > 0;
}

function allowedNames(type: DtoClass): ReadonlySet<string> {
  let names = allowedNamesCache.get(type);
  if (!names) {
    const rules = getMetadataStorage().getTargetValidationMetadatas(type, '', true, false);
    names = new Set(rules.map((rule) => rule.propertyName));
    allowedNamesCache.set(type, names);
  }
  return names;
}

/** The DTO class of a nested object property (`budget`), from the property's declared type. */
function nestedDto(parent: DtoClass, name: string, value: unknown): DtoClass | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const declared: unknown = Reflect.getMetadata('design:type', parent.prototype, name);
  return typeof declared === 'function' && isDtoClass(declared as DtoClass) ? (declared as DtoClass) : undefined;
}

import { ValidationOptions, registerDecorator } from 'class-validator';

const MAX_TAG_LENGTH = 35;

/** Tags already seen (a handful in practice), bounded so that arbitrary input cannot grow it. */
const CANONICAL = new Map<string, string | null>();
const MAX_REMEMBERED = 1000;

/** The canonical form of a BCP-47 tag (`zh-tw` becomes `zh-TW`), or null when it is not one. */
export function canonicalLanguageTag(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TAG_LENGTH) return null;
  const remembered = CANONICAL.get(value);
  if (remembered !== undefined) return remembered;
  let canonical: string | null;
  try {
    // ICU's canonicalisation is the slow part of validating a request: each tag is done once.
    canonical = Intl.getCanonicalLocales(value)[0] ?? null;
  } catch {
    canonical = null;
  }
  if (CANONICAL.size < MAX_REMEMBERED) CANONICAL.set(value, canonical);
  return canonical;
}

export function IsLanguageTag(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isLanguageTag',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `$property must be a BCP-47 language tag such as "en" or "zh-TW"`, ...options },
      validator: { validate: (value: unknown) => canonicalLanguageTag(value) !== null },
    });
}

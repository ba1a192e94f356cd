import { ValidationOptions, registerDecorator } from 'class-validator';

const MAX_TAG_LENGTH = 35;

/** The canonical form of a BCP-47 tag (`zh-tw` becomes `zh-TW`), or null when it is not one. */
export function canonicalLanguageTag(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TAG_LENGTH) return null;
  try {
    const [canonical] = Intl.getCanonicalLocales(value);
    return canonical ?? null;
  } catch {
    return null;
  }
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

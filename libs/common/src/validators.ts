import { ValidationOptions, registerDecorator } from 'class-validator';

/** A JSON object whose serialised form is at most `maxBytes`. */
export function IsSmallJsonObject(maxBytes: number, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isSmallJsonObject',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `$property must be a JSON object of at most ${maxBytes} bytes`, ...options },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Buffer.byteLength(JSON.stringify(value), 'utf8') <= maxBytes,
      },
    });
}

/** For `@ValidateIf`: validate a property only when the client sent it (null counts as sent). */
export const present = (_: object, value: unknown): boolean => value !== undefined;

const OPTIONAL_BODY = Symbol('optional body');

/**
 * A request body DTO whose every field is optional: a request sent without a body stands for
 * `{}`. Any other body must still be a JSON object.
 */
export function OptionalBody(): ClassDecorator {
  return (target) => Reflect.defineMetadata(OPTIONAL_BODY, true, target);
}

export function isOptionalBody(type: unknown): boolean {
  return typeof type === 'function' && Reflect.getMetadata(OPTIONAL_BODY, type) === true;
}

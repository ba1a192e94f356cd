import {
  DomainError,
  ErrorCode,
  FieldProblem,
  ValidationError as DomainValidationError,
  isOptionalBody,
} from '@app/common';
import { ArgumentMetadata, Injectable, PipeTransform, ValidationError, ValidationPipe } from '@nestjs/common';
import { MAX_FIELD_PROBLEMS, inputProblems, printable } from './input-problems';
import { UNDECODABLE_QUERY } from './query-string';

/** Flattens class-validator's tree into one entry per failed rule, with dotted field paths. */
export function fieldProblems(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...fieldProblems(error.children ?? [], field)];
  });
}

const validationFailed = (problems: FieldProblem[]) =>
  new DomainValidationError(problems.map((p) => p.message).join('; ') || 'invalid request', problems);

/**
 * Whitelists DTO fields, refuses unknown ones, applies defaults, and never converts types
 * implicitly ("10" is not a number). Bodies must be JSON objects; a request without one stands for
 * `{}` where the DTO says so (`@OptionalBody()`). Strings and field names of
 * bodies, queries and parameters must be text PostgreSQL can store as sent (see `inputProblems`).
 */
@Injectable()
export class RequestValidationPipe implements PipeTransform {
  private readonly validation = new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false, exposeDefaultValues: true },
    forbidUnknownValues: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationFailed(fieldProblems(errors)),
  });

  /**
   * A custom parameter decorator's value (tenant, request id) is its factory's own work and is
   * passed through as it is, at once: Nest runs every parameter through the global pipe, and
   * ValidationPipe would only hand it back a few promises later.
   */
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    return this.validateInput(value, metadata);
  }

  private async validateInput(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && value === undefined && isOptionalBody(metadata.metatype)) value = {};
    if (metadata.type === 'body' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new DomainValidationError('the request body must be a JSON object', [
        { field: 'body', message: 'the request body must be a JSON object' },
      ]);
    }
    const undecodable = metadata.type === 'query' ? queryEncodingProblems(value) : [];
    if (undecodable.length > 0) throw validationFailed(undecodable.slice(0, MAX_FIELD_PROBLEMS));
    const found = inputProblems(
      value,
      metadata.metatype,
      metadata.data ?? (typeof value === 'object' ? '' : metadata.type),
    );
    if (found.length === 0) return this.validation.transform(value, metadata);
    // Still validated, so that one answer names every problem.
    let others: FieldProblem[] = [];
    try {
      await this.validation.transform(value, metadata);
    } catch (error) {
      if (!(error instanceof DomainError && error.code === ErrorCode.ValidationFailed)) throw error;
      others = (error.details ?? []) as FieldProblem[];
    }
    // class-validator names the same unknown fields, and echoes broken names as they came.
    const key = (p: FieldProblem) => `${p.field}\n${p.message}`;
    const seen = new Set(found.map(key));
    const rest = others
      .map((p) => ({ field: printable(p.field), message: printable(p.message) }))
      .filter((p) => !seen.has(key(p)));
    throw validationFailed([...found, ...rest].slice(0, MAX_FIELD_PROBLEMS));
  }
}

/** Query parameters whose percent-encoding is not UTF-8 (see `parseQuery`): refused by name. */
function queryEncodingProblems(value: unknown): FieldProblem[] {
  const names = (value as { [UNDECODABLE_QUERY]?: string[] } | null)?.[UNDECODABLE_QUERY] ?? [];
  return names.map((name) => ({
    field: printable(name),
    message: `${printable(name)} is not validly percent-encoded UTF-8`,
  }));
}

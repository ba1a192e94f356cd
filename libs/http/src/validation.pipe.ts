import { ValidationError as DomainValidationError } from '@app/common';
import { ArgumentMetadata, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';

export interface FieldProblem {
  field: string;
  message: string;
}

/** Flattens class-validator's tree into one entry per failed rule, with dotted field paths. */
export function fieldProblems(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...fieldProblems(error.children ?? [], field)];
  });
}

/**
 * Whitelists DTO fields, refuses unknown ones, applies defaults, and never converts types
 * implicitly ("10" is not a number). Bodies must be JSON objects.
 */
@Injectable()
export class RequestValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false, exposeDefaultValues: true },
      forbidUnknownValues: true,
      stopAtFirstError: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => {
        const problems = fieldProblems(errors);
        return new DomainValidationError(problems.map((p) => p.message).join('; ') || 'invalid request', problems);
      },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new DomainValidationError('the request body must be a JSON object', [
        { field: 'body', message: 'the request body must be a JSON object' },
      ]);
    }
    return super.transform(value, metadata);
  }
}

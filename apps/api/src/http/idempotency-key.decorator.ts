import { ValidationError } from '@app/common';
import { ExecutionContext, createParamDecorator } from '@nestjs/common';
import { FastifyRequest } from 'fastify';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

function refuse(message: string): ValidationError {
  return new ValidationError(`Idempotency-Key ${message}`, [{ field: 'Idempotency-Key', message }]);
}

/**
 * The Idempotency-Key header, or null when there is none. Node hands an empty or blank header
 * over as '', and two of them joined by a comma: a key the client meant to send, so a 400 rather
 * than a request without one.
 */
export const IdempotencyKey = createParamDecorator((_: unknown, context: ExecutionContext): string | null => {
  const value = context.switchToHttp().getRequest<FastifyRequest>().headers[IDEMPOTENCY_KEY_HEADER];
  if (value === undefined) return null;
  if (value === '') throw refuse('is empty; send 1 to 255 visible ASCII characters, or no Idempotency-Key header');
  if (typeof value !== 'string' || !VALID_KEY.test(value)) throw refuse('must be 1 to 255 visible ASCII characters');
  return value;
});

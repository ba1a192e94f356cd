import { DomainError } from '@app/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorResponseDto } from './error-response.dto';
import { httpStatusOf } from './http-exception.filter';
import { REQUEST_ID_HEADER } from './request-id';

/**
 * Answers a domain error in the common shape from a Fastify hook, where Nest's exception filter
 * does not reach (routes that plugins register, such as Bull Board's).
 */
export function replyWithError(request: FastifyRequest, reply: FastifyReply, error: DomainError): FastifyReply {
  const body: ErrorResponseDto = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details !== undefined ? { details: error.details } : {}),
    },
    request_id: String(request.id),
  };
  const status = httpStatusOf(error.code);
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="api"');
  return reply
    .status(status)
    .header(REQUEST_ID_HEADER, String(request.id))
    .header('content-type', 'application/json; charset=utf-8')
    .send(body);
}

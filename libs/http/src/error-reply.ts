import { DomainError } from '@app/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-body';
import { httpStatusOf } from './http-exception.filter';
import { REQUEST_ID_HEADER } from './request-id';

/**
 * Answers a domain error in the common shape from a Fastify hook, where Nest's exception filter
 * does not reach (routes that plugins register, such as Bull Board's).
 */
export function replyWithError(request: FastifyRequest, reply: FastifyReply, error: DomainError): FastifyReply {
  const body = errorBody(error.code, error.message, String(request.id), error.details);
  const status = httpStatusOf(error.code);
  if (status === 401 && !reply.hasHeader('www-authenticate'))
    void reply.header('www-authenticate', 'Bearer realm="api"');
  return reply
    .status(status)
    .header(REQUEST_ID_HEADER, String(request.id))
    .header('content-type', 'application/json; charset=utf-8')
    .send(body);
}

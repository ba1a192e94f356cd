import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { Socket } from 'node:net';
import { ErrorCode } from '@app/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-body';
import { httpStatusOf } from './http-exception.filter';
import { REQUEST_ID_HEADER } from './request-id';

/**
 * Errors Fastify answers itself before a request reaches its hooks and routes, in the common
 * error shape instead of Fastify's own.
 */
const FRAMEWORK_ERRORS: Readonly<Record<string, { code: ErrorCode; message: string }>> = {
  FST_ERR_BAD_URL: { code: ErrorCode.MalformedRequest, message: 'the path is not validly percent-encoded UTF-8' },
  FST_ERR_MAX_PARAM_LENGTH: { code: ErrorCode.UriTooLong, message: 'a segment of the path is too long' },
};

export function answerFrameworkError(
  error: Error & { code?: string },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const known = (error.code && FRAMEWORK_ERRORS[error.code]) || {
    code: ErrorCode.MalformedRequest,
    message: 'the request cannot be routed',
  };
  void reply
    .status(httpStatusOf(known.code))
    .header(REQUEST_ID_HEADER, request.id)
    .header('content-type', 'application/json; charset=utf-8')
    .send(errorBody(known.code, known.message, String(request.id)));
}

const CLIENT_ERRORS: Readonly<Record<string, { code: ErrorCode; message: string }>> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    code: ErrorCode.RequestTimeout,
    message: 'the request did not arrive in time; the connection is closed',
  },
  HPE_HEADER_OVERFLOW: { code: ErrorCode.HeadersTooLarge, message: 'the request headers are too large' },
};

/**
 * Answers what Node refuses before a request exists (malformed HTTP, headers too large, and its
 * own request timeouts, the backstop of the body timeout) in the common error shape, with a new
 * request id, then closes the connection. Fastify's default answers in a shape of its own.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = (error.code && CLIENT_ERRORS[error.code]) || {
    code: ErrorCode.MalformedRequest,
    message: 'the request is not valid HTTP',
  };
  // As Node's own handler: no answer once a response has begun on this connection.
  const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || response?.headersSent) {
    socket.destroy();
    return;
  }
  const status = httpStatusOf(known.code);
  const requestId = randomUUID();
  const json = JSON.stringify(errorBody(known.code, known.message, requestId));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      `content-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(json)}\r\n` +
      `${REQUEST_ID_HEADER}: ${requestId}\r\n` +
      `connection: close\r\n\r\n${json}`,
  );
  // A client that never reads its answer does not keep the socket either.
  setTimeout(() => socket.destroy(), 1000).unref();
}

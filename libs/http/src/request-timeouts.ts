import { randomUUID } from 'node:crypto';
import { IncomingMessage, STATUS_CODES } from 'node:http';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { DomainError, ErrorCode } from '@app/common';
import { FastifyInstance } from 'fastify';
import { ErrorResponseDto } from './error-response.dto';
import { httpStatusOf } from './http-exception.filter';
import { REQUEST_ID_HEADER } from './request-id';

/**
 * The body as Fastify's parser reads it, failed with a 408 `DomainError` when it has not arrived
 * whole in time. It reads the request only once the parser reads it: a body nobody parses (a
 * GET's, or one refused with 415) is left to Node, which discards it.
 */
class TimedBody extends Readable {
  /** Fastify checks the body limit against this when a preParsing hook replaces the stream. */
  receivedEncodedLength = 0;
  private reading = false;

  constructor(private readonly source: IncomingMessage) {
    super();
    // Errors after the parser has stopped listening must not crash the process.
    this.on('error', () => undefined);
  }

  override _read(): void {
    if (this.reading) {
      this.source.resume();
      return;
    }
    this.reading = true;
    this.source.on('data', this.onData);
    this.source.once('end', () => this.push(null));
    this.source.once('error', (error) => this.destroy(error));
  }

  /** Ends the wait for the body: the parser gets `error`, the rest of the body is discarded. */
  fail(error: Error): void {
    this.source.removeListener('data', this.onData);
    this.source.resume();
    this.destroy(error);
  }

  get started(): boolean {
    return this.reading;
  }

  private readonly onData = (chunk: Buffer) => {
    this.receivedEncodedLength += chunk.length;
    if (!this.push(chunk)) this.source.pause();
  };
}

/**
 * Gives every request body `timeoutMs` to arrive whole. A slower one gets a 408 in the common
 * error shape, through the exception filter like any error, and its connection is closed: a client
 * trickling a byte now and then cannot hold a connection, or thousands of them, open.
 */
export function installBodyTimeout(fastify: FastifyInstance, timeoutMs: number): void {
  fastify.addHook('preParsing', (request, reply, payload, done) => {
    if (payload !== request.raw) {
      done(null, payload);
      return;
    }
    const body = new TimedBody(request.raw);
    const timer = setTimeout(() => {
      if (!body.started || request.raw.complete || reply.sent) return;
      void reply.header('connection', 'close');
      body.fail(
        new DomainError(
          ErrorCode.RequestTimeout,
          `the request body did not arrive within ${timeoutMs / 1000} s; the connection is closed`,
          undefined,
          false,
        ),
      );
    }, timeoutMs);
    const stop = () => clearTimeout(timer);
    request.raw.once('end', stop);
    reply.raw.once('close', stop);
    done(null, body);
  });
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
  const body: ErrorResponseDto = { error: { code: known.code, message: known.message }, request_id: requestId };
  const json = JSON.stringify(body);
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

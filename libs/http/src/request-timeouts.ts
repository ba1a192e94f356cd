import { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { DomainError, ErrorCode } from '@app/common';
import { FastifyInstance } from 'fastify';

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
    const { 'content-length': length, 'transfer-encoding': encoding } = request.headers;
    const bodiless = encoding === undefined && (length === undefined || length === '0');
    if (bodiless || payload !== request.raw) {
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

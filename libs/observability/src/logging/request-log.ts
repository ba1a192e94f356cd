import { FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { Level, Logger } from 'pino';
import { QUIET_PATHS } from './logger-params';

/**
 * A request's log context, in the shape nestjs-pino keeps in its async storage (`Store`): every
 * line written while the request is handled carries its `request_id`. The logger bound to the
 * request id is made when the request's first line is written, not for every request: with the
 * level at `warn` most requests write none, and a pino child (its bindings serialised, through
 * the redaction paths) took about 2% of the api's CPU on its cheapest read.
 */
export class RequestLogContext {
  responseLogger?: Logger;
  private bound?: Logger;
  private replaced?: Logger;

  constructor(private readonly requestId: string) {}

  /** The logger bound to the request id, also once the context has ended. */
  get requestLogger(): Logger {
    return (this.bound ??= PinoLogger.root.child({ request_id: this.requestId }));
  }

  /** What nestjs-pino writes with: the request's logger until `assign` or `endLogContext` replaces it. */
  get logger(): Logger {
    return this.replaced ?? this.requestLogger;
  }

  set logger(logger: Logger) {
    this.replaced = logger;
  }
}

/**
 * The log context a request's "request completed" line is written with, kept on the request
 * under `REQUEST_LOGGER` by the logging interceptor once the request reaches a handler; null
 * until then.
 */
export const REQUEST_LOGGER = Symbol('requestLogger');
export type LoggedRequest = FastifyRequest & { [REQUEST_LOGGER]: RequestLogContext | null };

export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function levelFor(path: string, statusCode: number): Level {
  if (statusCode >= 500) return 'error';
  if (QUIET_PATHS.has(path)) return 'debug';
  return statusCode >= 400 ? 'warn' : 'info';
}

/**
 * Writes the one line of a finished request: `method`, `path`, `status_code` and `duration` in
 * seconds, at debug for probes and scrapes, warn for 4xx, error for 5xx. The request's log
 * context carries the request id; without one, `requestId` is written instead. A line below the
 * level makes no logger.
 */
export function logRequestCompleted(
  context: RequestLogContext | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
  requestId?: string,
): void {
  const path = pathOf(request.url);
  const level = levelFor(path, reply.statusCode);
  if (!PinoLogger.root.isLevelEnabled(level)) return;
  const logger = context?.requestLogger ?? PinoLogger.root;
  const line: Record<string, unknown> = {
    method: request.method,
    path,
    status_code: reply.statusCode,
    duration: Math.round(reply.elapsedTime) / 1000,
  };
  if (requestId !== undefined) line.request_id = requestId;
  logger[level](line, 'request completed');
}

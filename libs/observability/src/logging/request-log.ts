import { FastifyReply, FastifyRequest } from 'fastify';
import { Level, Logger } from 'pino';
import { QUIET_PATHS } from './logger-params';

/**
 * The logger a request's "request completed" line is written with, kept on the request under
 * `REQUEST_LOGGER` by the logging interceptor once the request reaches a handler; null until then.
 */
export const REQUEST_LOGGER = Symbol('requestLogger');
export type LoggedRequest = FastifyRequest & { [REQUEST_LOGGER]: Logger | null };

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
 * seconds, at debug for probes and scrapes, warn for 4xx, error for 5xx. `logger` carries the
 * request id; `requestId` is given only when it does not.
 */
export function logRequestCompleted(
  logger: Logger,
  request: FastifyRequest,
  reply: FastifyReply,
  requestId?: string,
): void {
  const path = pathOf(request.url);
  const level = levelFor(path, reply.statusCode);
  if (!logger.isLevelEnabled(level)) return;
  const line: Record<string, unknown> = {
    method: request.method,
    path,
    status_code: reply.statusCode,
    duration: Math.round(reply.elapsedTime) / 1000,
  };
  if (requestId !== undefined) line.request_id = requestId;
  logger[level](line, 'request completed');
}

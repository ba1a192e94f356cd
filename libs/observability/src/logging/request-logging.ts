import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { Store, storage } from 'nestjs-pino/storage';
import { Level } from 'pino';
import { endLogContext } from './log-context';
import { QUIET_PATHS } from './logger-params';

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function levelFor(path: string, statusCode: number): Level {
  if (statusCode >= 500) return 'error';
  if (QUIET_PATHS.has(path)) return 'debug';
  return statusCode >= 400 ? 'warn' : 'info';
}

/**
 * Request logging on Fastify's own hooks, cheaper than a Nest middleware: every log line written
 * while a request is handled carries its `request_id`, and each response writes one line with
 * `method`, `path`, `status_code` and `duration` in seconds.
 */
export function installRequestLogging(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    storage.run(new Store(PinoLogger.root.child({ request_id: request.id })), done);
  });
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const path = pathOf(request.url);
    const level = levelFor(path, reply.statusCode);
    const store = storage.getStore();
    const logger = store?.logger ?? PinoLogger.root;
    if (logger.isLevelEnabled(level)) {
      logger[level](
        {
          method: request.method,
          path,
          status_code: reply.statusCode,
          duration: Math.round(reply.elapsedTime) / 1000,
        },
        'request completed',
      );
    }
    endLogContext(store);
    done();
  });
}

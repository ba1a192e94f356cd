import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { storage } from 'nestjs-pino/storage';
import { endLogContext } from './log-context';
import { LoggedRequest, REQUEST_LOGGER, RequestLogContext, logRequestCompleted } from './request-log';

/**
 * The part of request logging that needs Fastify's own hooks. Every log line written while a
 * request is handled carries its `request_id`, from its first hook on, before any guard runs.
 * Requests that reach no handler (unknown routes, malformed JSON, 413, 415, 408, refused by a
 * guard) get their "request completed" line here, since no interceptor runs for them; the
 * logging interceptor writes it for the others.
 */
export function installRequestLogging(fastify: FastifyInstance): void {
  fastify.decorateRequest(REQUEST_LOGGER, null);
  fastify.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    storage.run(new RequestLogContext(String(request.id)), done);
  });
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const store = storage.getStore();
    if ((request as LoggedRequest)[REQUEST_LOGGER] === null) {
      // No context when a hook before ours refused the request (an HTTP/1.1 request without Host).
      const context = store instanceof RequestLogContext ? store : undefined;
      logRequestCompleted(context, request, reply, context ? undefined : String(request.id));
    }
    endLogContext(store);
    done();
  });
}

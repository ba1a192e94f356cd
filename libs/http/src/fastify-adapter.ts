import { IncomingMessage } from 'node:http';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { REQUEST_ID_HEADER, resolveRequestId } from './request-id';

export interface HttpLimits {
  /** Default body limit of every route. */
  bodyLimitBytes: number;
  /** Larger limits for routes whose path starts with a prefix. */
  routeBodyLimits?: ReadonlyArray<{ pathPrefix: string; bodyLimitBytes: number }>;
}

/**
 * The Fastify adapter both apps use: request ids from X-Request-Id (or new ones), returned on
 * every response; JSON bodies only; body limits per route.
 */
export function createFastifyAdapter(limits: HttpLimits): FastifyAdapter {
  const adapter = new FastifyAdapter({
    bodyLimit: limits.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (raw: IncomingMessage) => {
      const id = resolveRequestId(raw.headers);
      // pino-http reads the id from the raw request.
      (raw as typeof raw & { id?: string }).id = id;
      return id;
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const fastify = adapter.getInstance();
  fastify.removeContentTypeParser(['text/plain']);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  const routeLimits = limits.routeBodyLimits ?? [];
  if (routeLimits.length > 0) {
    fastify.addHook('onRoute', (route) => {
      const match = routeLimits.find((limit) => route.url.startsWith(limit.pathPrefix));
      if (match) route.bodyLimit = match.bodyLimitBytes;
    });
  }
  return adapter;
}

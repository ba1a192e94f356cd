import cors from '@fastify/cors';
import { FastifyInstance } from 'fastify';

/** Headers a browser page may send: the body's type, the api's own headers and credentials. */
const ALLOWED_HEADERS = ['Content-Type', 'Idempotency-Key', 'Authorization', 'X-API-Key', 'X-Request-Id'];
/** Headers of our answers a browser page may read. */
const EXPOSED_HEADERS = ['X-Request-Id', 'Location', 'Retry-After', 'Idempotent-Replayed'];
const METHODS = ['GET', 'HEAD', 'POST', 'DELETE'];
/** How long a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for the browser pages of `origins` (exact origins, or `*` for any). With no origins there
 * is no CORS at all: not one CORS header, and OPTIONS is answered like any other method a path
 * does not serve. A request from an origin not on the list gets no CORS header either, and an
 * OPTIONS request that is not a preflight goes on to the routes.
 */
export async function installCors(fastify: FastifyInstance, origins: readonly string[]): Promise<void> {
  if (origins.length === 0) return;
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  await fastify.register(cors, {
    delegator: (request, callback) => {
      const { origin } = request.headers;
      const permitted = origin !== undefined && (anyOrigin || allowed.has(origin));
      callback(null, {
        origin: permitted ? (anyOrigin ? '*' : origin) : false,
        preflight: request.headers['access-control-request-method'] !== undefined,
        methods: METHODS,
        allowedHeaders: ALLOWED_HEADERS,
        exposedHeaders: EXPOSED_HEADERS,
        maxAge: PREFLIGHT_MAX_AGE_SECONDS,
      });
    },
  });
}

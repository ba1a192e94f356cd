import { IncomingMessage } from 'node:http';
import { DomainError, ErrorCode, ValidationError } from '@app/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { jsonNestsDeeperThan } from './json-depth';
import { answerClientError, answerFrameworkError } from './early-errors';
import { installMethodNotAllowed } from './method-not-allowed';
import { REQUEST_ID_HEADER, resolveRequestId } from './request-id';
import { parseQuery } from './query-string';
import { installBodyTimeout } from './request-timeouts';

/** Deeper than any request body of ours needs, far shallower than what overflows the stack. */
const DEFAULT_MAX_JSON_DEPTH = 32;
/** How often Node looks for requests past its own timeouts (its default is 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

export interface HttpServerOptions {
  /** Default body limit of every route. */
  bodyLimitBytes: number;
  /** Larger limits for routes whose path starts with a prefix. */
  routeBodyLimits?: ReadonlyArray<{ pathPrefix: string; bodyLimitBytes: number }>;
  /** Objects and arrays nested deeper than this in a JSON body are a 400. */
  maxJsonDepth?: number;
  /** Time a body has to arrive whole once the headers are in; then a 408. */
  bodyTimeoutMs: number;
  /** Time the headers have to arrive whole; then a 408. */
  headersTimeoutMs: number;
  /** Proxies trusted to name the client in X-Forwarded-For (`request.ip`); none by default. */
  trustProxy?: boolean | number | readonly string[];
}

/**
 * The Fastify adapter both apps use: request ids from X-Request-Id (or new ones), returned on
 * every response; JSON bodies only, of limited depth; body limits per route; timeouts for
 * headers and bodies, answered in the common error shape; 405 for a known path with another
 * method.
 */
export function createFastifyAdapter(limits: HttpServerOptions): FastifyAdapter {
  // Node's own limit on a whole request, a backstop that fires only after the body timeout
  // would have: Fastify turns it off by default.
  const requestTimeout = limits.headersTimeoutMs + limits.bodyTimeoutMs + 2 * TIMEOUT_CHECK_INTERVAL_MS;
  const trustProxy: boolean | number | string[] =
    typeof limits.trustProxy === 'object' ? [...limits.trustProxy] : (limits.trustProxy ?? false);
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
    http: {
      // Given here too: Node checks the headers timeout against it when it creates the server.
      requestTimeout,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      // Node answers a missing Host with a bare 400; the onRequest hook below answers it instead.
      requireHostHeader: false,
    },
    requestTimeout,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    trustProxy,
    routerOptions: { querystringParser: parseQuery },
  });
  const fastify = adapter.getInstance();
  fastify.removeContentTypeParser(['text/plain', 'application/json']);
  // Fastify's JSON parser, with its errors raised as our own: Nest would turn them into bare
  // HttpExceptions and lose what went wrong.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  const maxDepth = limits.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  // Fastify's own decoding would turn bytes that are not UTF-8 into U+FFFD and store the
  // altered text; they are refused instead.
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, bytes, done) => {
    let body: string;
    try {
      body = utf8.decode(bytes as Buffer);
    } catch {
      done(new DomainError(ErrorCode.MalformedJson, 'the request body is not valid UTF-8'), undefined);
      return;
    }
    if (jsonNestsDeeperThan(body, maxDepth)) {
      const message = `the request body nests objects and arrays deeper than ${maxDepth} levels`;
      done(new ValidationError(message, [{ field: 'body', message }]), undefined);
      return;
    }
    void parseJson(request, body, (error: Error | null, value?: unknown) => {
      if (!error) return done(null, value);
      const empty = (error as { code?: string }).code === 'FST_ERR_CTP_EMPTY_JSON_BODY';
      done(
        new DomainError(
          ErrorCode.MalformedJson,
          empty ? 'the request body is empty; send a JSON object' : 'the request body is not valid JSON',
        ),
        undefined,
      );
    });
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      done(new DomainError(ErrorCode.MalformedRequest, 'an HTTP/1.1 request needs a Host header'));
      return;
    }
    done();
  });
  installMethodNotAllowed(fastify);
  installBodyTimeout(fastify, limits.bodyTimeoutMs);
  const routeLimits = limits.routeBodyLimits ?? [];
  if (routeLimits.length > 0) {
    fastify.addHook('onRoute', (route) => {
      const match = routeLimits.find((limit) => route.url.startsWith(limit.pathPrefix));
      if (match) route.bodyLimit = match.bodyLimitBytes;
    });
  }
  return adapter;
}

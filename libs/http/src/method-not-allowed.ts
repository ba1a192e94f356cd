import { DomainError, ErrorCode } from '@app/common';
import { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import FindMyWay from 'find-my-way';

/** Routes that match every path (the CORS preflight route): they say nothing about a path. */
const CATCH_ALL = new Set(['*', '/*']);

/**
 * Answers 405 with an `Allow` header, instead of 404, when a route serves the path with other
 * methods. Fastify sends every miss to its not-found handler without telling the two apart, so the
 * routes are collected as they are added, into a router of the kind Fastify uses (find-my-way,
 * with Fastify's matching options): parametric and wildcard paths match exactly as they do there.
 *
 * The check runs before the body is parsed, so a wrong method is not reported as a wrong body,
 * and again before the not-found handler for requests a route handed to it.
 */
export function installMethodNotAllowed(fastify: FastifyInstance): void {
  const { caseSensitive, ignoreTrailingSlash, ignoreDuplicateSlashes, maxParamLength, useSemicolonDelimiter } =
    fastify.initialConfig;
  // find-my-way reads useSemicolonDelimiter, but its types do not name it.
  const matching = {
    caseSensitive,
    ignoreTrailingSlash,
    ignoreDuplicateSlashes,
    maxParamLength,
    useSemicolonDelimiter,
  };
  const router = FindMyWay(matching);
  const methods = new Set<HTTPMethods>();

  fastify.addHook('onRoute', (route) => {
    if (CATCH_ALL.has(route.url)) return;
    for (const method of [route.method].flat()) {
      const known = method.toUpperCase() as HTTPMethods & FindMyWay.HTTPMethod;
      if (router.hasRoute(known, route.url)) continue;
      router.on(known, route.url, () => undefined);
      methods.add(known);
    }
  });

  // Nest hands a request whose route parameter is empty ("/research/") to the not-found handler,
  // so such a match is no route: only a wildcard may be empty.
  const serves = (method: HTTPMethods, url: string): boolean => {
    const found = router.find(method as FindMyWay.HTTPMethod, url);
    return found !== null && Object.entries(found.params).every(([name, value]) => value !== '' || name === '*');
  };

  const refuse = (request: FastifyRequest, reply: FastifyReply): DomainError | undefined => {
    if (!request.is404 || reply.sent) return undefined;
    const allowed = [...methods].filter((method) => serves(method, request.url)).sort();
    if (allowed.length === 0) return undefined;
    const path = request.url.split('?')[0];
    void reply.header('allow', allowed.join(', '));
    return new DomainError(
      ErrorCode.MethodNotAllowed,
      `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
      { method: request.method, allowed },
      false,
    );
  };
  fastify.addHook('preParsing', (request, reply, payload, done) => {
    const error = refuse(request, reply);
    if (error) done(error);
    else done(null, payload);
  });
  fastify.addHook('preHandler', (request, reply, done) => done(refuse(request, reply)));
}

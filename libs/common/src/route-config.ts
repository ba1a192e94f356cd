import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';

/**
 * Adds values to the Fastify route config of a handler (`request.routeOptions.config`), where
 * code outside Nest's interceptors (Fastify hooks, the exception filter) can read them. Nest's
 * `@RouteConfig` replaces the whole object, so two decorators using it on one handler would lose
 * each other's values; this one keeps what is there, whatever the order of the decorators.
 */
export function AddRouteConfig(values: Readonly<Record<string, unknown>>): MethodDecorator {
  return (_target, _key, descriptor) => {
    const handler = descriptor.value as object;
    const existing = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) ?? {}) as Record<string, unknown>;
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...existing, ...values }, handler);
    return descriptor;
  };
}

import { AsyncResource } from 'node:async_hooks';

type Bind = (this: AsyncResource, fn: (...args: unknown[]) => unknown, thisArg?: unknown) => unknown;

/**
 * Makes `AsyncResource#bind` cheap again where Node still gives every bound function a deprecated
 * `asyncResource` accessor (DEP0172). Node 20 builds that accessor with `util.deprecate`, which
 * sets the prototype of two new functions on each call: about 8 µs a bind on the 2-core
 * development machine, plus the garbage. NestJS binds once per global interceptor and request,
 * so that interceptors keep the request's async context (and with it the request's log context):
 * with the metrics and logging interceptors, and audit after them, that cost came on every
 * request (docs/benchmarks.md). Later Node versions stop building the accessor; this does the
 * same here. The bound function still runs `fn` in the resource's async scope, with the same
 * `this` and arguments, and keeps `fn.length`. Idempotent; a no-op where there is no accessor.
 */
export function useLeanAsyncResourceBind(): void {
  const probe = new AsyncResource('probe').bind(() => undefined) as unknown as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(probe, 'asyncResource')) return;
  const original = AsyncResource.prototype.bind as unknown as Bind;
  const lean: Bind = function bind(this: AsyncResource, fn, thisArg) {
    // Node's own checks and errors for anything that is not a function.
    if (typeof fn !== 'function') return original.call(this, fn, thisArg);
    const bound = thisArg === undefined ? boundToCaller(this, fn) : this.runInAsyncScope.bind(this, fn, thisArg);
    Object.defineProperty(bound, 'length', {
      configurable: true,
      enumerable: false,
      value: fn.length,
      writable: false,
    });
    return bound;
  };
  (AsyncResource.prototype as unknown as { bind: Bind }).bind = lean;
}

/** Calls `fn` in the resource's scope with the `this` it is called with, as Node's own does. */
function boundToCaller(resource: AsyncResource, fn: (...args: unknown[]) => unknown) {
  return function (this: unknown, ...args: unknown[]) {
    return resource.runInAsyncScope(fn, this, ...args);
  };
}

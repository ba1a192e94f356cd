import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { useLeanAsyncResourceBind } from './lean-async-resource-bind';

describe('useLeanAsyncResourceBind', () => {
  const original = AsyncResource.prototype.bind;
  const storage = new AsyncLocalStorage<string>();

  beforeAll(() => {
    useLeanAsyncResourceBind();
    useLeanAsyncResourceBind();
  });

  afterAll(() => {
    AsyncResource.prototype.bind = original;
  });

  it('leaves bound functions without the deprecated asyncResource accessor', () => {
    const bound = AsyncResource.bind(() => 1);
    expect(Object.getOwnPropertyNames(bound)).not.toContain('asyncResource');
  });

  it('runs the function in the async context it was bound in, with the caller’s this and arguments', () => {
    const bound = storage.run('bound here', () =>
      AsyncResource.bind(function (this: unknown, a: number, b: number) {
        return { self: this, sum: a + b, context: storage.getStore() };
      }),
    );
    const self = { name: 'caller' };
    expect(storage.run('called here', () => bound.call(self, 2, 3))).toEqual({ self, sum: 5, context: 'bound here' });
    expect(bound.length).toBe(2);
  });

  it('binds this when it is given', () => {
    const self = { name: 'given' };
    // Node's types leave out the second argument.
    const bind = AsyncResource.prototype.bind as unknown as (fn: () => unknown, thisArg: unknown) => () => unknown;
    const bound = bind.call(
      new AsyncResource('test'),
      function (this: unknown) {
        return this;
      },
      self,
    );
    expect(bound.call({ name: 'ignored' })).toBe(self);
  });

  it('keeps the async context across the awaits of an async function', async () => {
    const bound = storage.run('request 7', () =>
      AsyncResource.bind(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return storage.getStore();
      }),
    );
    await expect(bound()).resolves.toBe('request 7');
  });

  it('refuses what is not a function as Node does', () => {
    expect(() => new AsyncResource('test').bind(42 as unknown as () => void)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });
});

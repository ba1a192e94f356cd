import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { TcpProxy } from '@app/testing';
import { EndpointSemaphore } from './endpoint-semaphore';
import { createLlmRedis } from './llm-redis';

const REDIS_URL = 'redis://127.0.0.1:6379/0';
const PREFIX = `llm-semaphore-spec-${process.pid}-${Date.now()}`;

describe('EndpointSemaphore', () => {
  const clients: Redis[] = [];
  const semaphores: EndpointSemaphore[] = [];
  let admin: Redis;
  let warnings: jest.SpyInstance;

  function semaphore(name: string, limit: number, leaseMs = 15_000): EndpointSemaphore {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    clients.push(redis);
    const created = new EndpointSemaphore(redis, { key: `${PREFIX}:llm:${name}`, limit, leaseMs });
    semaphores.push(created);
    return created;
  }

  function holders(name: string): Promise<string[]> {
    return admin.zrange(`${PREFIX}:llm:${name}`, 0, -1);
  }

  /** Settles with 'pending' when the promise has not settled within `ms`. */
  async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<'pending'>((resolve) => {
          timer = setTimeout(() => resolve('pending'), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterAll(async () => {
    for (const created of semaphores) await created.onModuleDestroy();
    for (const client of clients) if (client.status !== 'end') await client.quit();
    const keys = await admin.keys(`${PREFIX}:*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
    warnings.mockRestore();
  });

  it('admits up to its limit, and the next caller when a slot is released', async () => {
    const slots = semaphore('limit', 2);
    const first = await slots.acquire();
    const second = await slots.acquire();
    const third = slots.acquire();
    expect(await within(third, 300)).toBe('pending');
    expect((await holders('limit')).sort()).toEqual([first, second].sort());

    await slots.release(first);
    const admitted = await within(third, 1000);
    expect(admitted).toEqual(expect.any(String));
    expect((await holders('limit')).sort()).toEqual([second, admitted].sort());

    await slots.release(second);
    await slots.release(admitted as string);
    expect(await admin.exists(`${PREFIX}:llm:limit`)).toBe(0);
  });

  it('never lets more than the limit hold a slot across processes', async () => {
    const processes = [semaphore('shared', 2), semaphore('shared', 2), semaphore('shared', 2)];
    let holding = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const slots = processes[i % processes.length];
        const token = await slots.acquire();
        holding += 1;
        most = Math.max(most, holding);
        await new Promise((resolve) => setTimeout(resolve, 40));
        holding -= 1;
        await slots.release(token);
      }),
    );
    expect(most).toBe(2);
    expect(await holders('shared')).toEqual([]);
  });

  it('frees the slot of a holder that crashed once its lease expires', async () => {
    const crashing = semaphore('crash', 1, 600);
    const survivor = semaphore('crash', 1, 600);
    const lost = await crashing.acquire();
    clients[clients.length - 2].disconnect(); // the holder's process is gone: no renewal, no release

    const started = Date.now();
    const token = await survivor.acquire();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(400);
    expect(waited).toBeLessThan(1500);
    expect(await holders('crash')).toEqual([token]);
    expect(token).not.toBe(lost);
    await survivor.release(token);
  });

  it('renews the lease of a slot held longer than the lease', async () => {
    const holder = semaphore('renew', 1, 300);
    const waiter = semaphore('renew', 1, 300);
    const token = await holder.acquire();
    const waiting = waiter.acquire();
    expect(await within(waiting, 1200)).toBe('pending');
    expect(await holders('renew')).toEqual([token]);

    await holder.release(token);
    const next = await within(waiting, 1000);
    expect(next).toEqual(expect.any(String));
    await waiter.release(next as string);
  });

  it('stops waiting when the signal aborts, with its reason, and leaves no slot behind', async () => {
    const slots = semaphore('abort', 1);
    const held = await slots.acquire();
    const controller = new AbortController();
    const reason = new Error('research cancelled');
    setTimeout(() => controller.abort(reason), 150);
    const started = Date.now();
    await expect(slots.acquire(controller.signal)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(500);
    await expect(slots.acquire(controller.signal)).rejects.toBe(reason);
    await slots.release(held);
    expect(await holders('abort')).toEqual([]);
  });

  it('rides out a Redis outage on the LLM connection: a caller waiting through it gets its slot after', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 6379 });
    const redis = createLlmRedis(`redis://127.0.0.1:${proxy.port}/0`);
    const slots = new EndpointSemaphore(redis, { key: `${PREFIX}:llm:outage`, limit: 1, leaseMs: 15_000 });
    await slots.release(await slots.acquire());

    await proxy.cut();
    // Longer than a few reconnection attempts: a client that gives up after two would fail here.
    const waiting = slots.acquire();
    expect(await within(waiting, 3000)).toBe('pending');
    await proxy.restore();
    const token = await within(waiting, 10_000);
    expect(token).toEqual(expect.any(String));
    expect(await holders('outage')).toEqual([token]);
    await slots.release(token as string);
    await redis.quit();
    await proxy.cut();
  });
});

import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { SharedRateLimitStorage } from './shared-rate-limit.storage';

const REDIS_URL = 'redis://127.0.0.1:6379/0';
const SYNC_MS = 20;
const TTL = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two api replicas' worth of counts, against a real Redis. */
describe('SharedRateLimitStorage', () => {
  let prefix: string;
  let admin: Redis;
  const storages: SharedRateLimitStorage[] = [];

  const replica = (url = REDIS_URL) => {
    const storage = new SharedRateLimitStorage(
      url,
      { keyPrefix: prefix, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false },
      SYNC_MS,
    );
    storages.push(storage);
    return storage;
  };
  const hit = (storage: SharedRateLimitStorage, key: string, limit: number) =>
    storage.increment(key, TTL, limit, TTL, 'reads');
  const inRedis = async (key: string) => Number(await admin.get(`${prefix}{${key}:reads}:hits`));

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });

  beforeEach(() => {
    prefix = `rate-limit-spec-${randomUUID()}:`;
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const storage of storages.splice(0)) await storage.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  });

  afterAll(() => admin.disconnect());

  it('lets through exactly the limit within a window, and blocks the rest with the time left', async () => {
    const storage = replica();
    const answers = [];
    for (let i = 0; i < 15; i += 1) answers.push(await hit(storage, 'key:a', 10));
    expect(answers.filter((answer) => !answer.isBlocked)).toHaveLength(10);
    expect(answers.slice(10).every((answer) => answer.isBlocked && answer.timeToBlockExpire >= 1)).toBe(true);
    // Another key counts on its own.
    expect((await hit(storage, 'key:b', 10)).isBlocked).toBe(false);
  });

  it('sends its counts to Redis in batches, not one call a request', async () => {
    const storage = replica();
    const before = await commandCalls(admin);
    await Promise.all(Array.from({ length: 200 }, () => hit(storage, 'key:a', 1000)));
    await sleep(SYNC_MS * 3);
    expect(await inRedis('key:a')).toBe(200);
    // The first hit, then one batch for all the hits behind it (and whatever else used Redis meanwhile).
    expect((await commandCalls(admin)) - before).toBeLessThan(20);
  });

  it('holds one limit across replicas: a key blocked on one is refused on the other', async () => {
    const [first, second] = [replica(), replica()];
    for (let i = 0; i < 6; i += 1) expect((await hit(first, 'key:a', 10)).isBlocked).toBe(false);
    await sleep(SYNC_MS * 3);
    const onSecond = [];
    for (let i = 0; i < 6; i += 1) onSecond.push(await hit(second, 'key:a', 10));
    expect(onSecond.filter((answer) => !answer.isBlocked)).toHaveLength(4);
    // The first replica hears of the block with the answer to its next batch: what it lets
    // through meanwhile is the bound on what the replicas together exceed the limit by.
    await hit(first, 'key:a', 10);
    await sleep(SYNC_MS * 3);
    expect((await hit(first, 'key:a', 10)).isBlocked).toBe(true);
    expect((await hit(second, 'key:a', 10)).isBlocked).toBe(true);
  });

  it('starts a new window once the old one is over', async () => {
    const storage = replica();
    for (let i = 0; i < 3; i += 1) await hit(storage, 'key:a', 2);
    expect((await hit(storage, 'key:a', 2)).isBlocked).toBe(true);
    await sleep(TTL + 100);
    expect((await hit(storage, 'key:a', 2)).isBlocked).toBe(false);
  });

  it('counts on its own when Redis does not answer, and never fails a request for it', async () => {
    const storage = replica('redis://127.0.0.1:1/0');
    const answers = [];
    for (let i = 0; i < 8; i += 1) answers.push(await hit(storage, 'key:a', 5));
    expect(answers.filter((answer) => !answer.isBlocked)).toHaveLength(5);
  });
});

/** Commands Redis has run since it started, all clients together. */
async function commandCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

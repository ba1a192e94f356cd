// What a bench that starts its own servers does first: a database of its own, migrated, the
// environment the servers run with (production mode, rate limits out of reach), and an API key.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { UNREACHED_RATE_LIMITS, createApiKey } from './api-key.mjs';
import { admin, server } from './postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Creates (anew) and migrates the database `database`; answers the servers' environment and a key. */
export async function prepareServers(database, queuePrefix) {
  const env = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    DATABASE_URL: `${server}/${database}`,
    REDIS_URL: 'redis://127.0.0.1:6379/0',
    QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    ...UNREACHED_RATE_LIMITS,
  };
  // What an interrupted run left on the queue (jobs no worker of a bench ever takes).
  await clearQueue(env);
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${database}`);
  spawnSync(process.execPath, [join(root, 'dist/apps/cli/src/main.js'), 'migrate'], { env, stdio: 'ignore' });
  return { env, apiKey: createApiKey(env) };
}

/** Waits until a server answers on `port`, with any status: the bare handler has no health route. */
export async function untilAnswering(port) {
  for (let i = 0; i < 100; i += 1) {
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (up) return;
    await sleep(100);
  }
  throw new Error(`nothing answers on port ${port}`);
}

/**
 * Removes the bench's queue from Redis: every job its servers added stays there otherwise, as no
 * worker runs in a bench (hundreds of thousands of keys after a few long runs).
 */
export async function clearQueue(env) {
  const redis = new Redis(env.REDIS_URL);
  try {
    const stream = redis.scanStream({ match: `${env.QUEUE_PREFIX}:*`, count: 1000 });
    for await (const keys of stream) if (keys.length > 0) await redis.unlink(...keys);
  } finally {
    redis.disconnect();
  }
}

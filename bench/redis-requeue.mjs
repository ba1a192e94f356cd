// What losing Redis costs: the time until the reconciler puts back on the queue the researches
// whose jobs a FLUSHALL erased, and until they are done. One api and one worker (QUEUE_CONCURRENCY
// 1) on the deep engine over a fake LLM answering after a fixed latency, so that researches wait
// in the queue; Redis is flushed while they do. Delays are measured from the flush to each
// research's `research.requeued` event (PostgreSQL's clock for both).
//
//   npm run build && node bench/redis-requeue.mjs [researches] [latency-ms] [flush-after-ms] [submit-after-ms]
//
// Researches are submitted `submit-after-ms` after the worker is up (its reconciler makes its
// first pass as it starts), and the flush comes `flush-after-ms` after the first one started
// running: runs with different values meet the reconciler's timer at different points of its
// interval. The longest wait is for researches younger than the grace at the pass after the flush.
//
// RECONCILE_INTERVAL_MS and RECONCILE_GRACE_MS from the environment are passed to the apps;
// unset, they run with the defaults (15000 and 10000). Needs PostgreSQL on localhost and
// redis-server on the PATH: it starts a Redis of its own on a free port (it flushes it), and
// creates and drops the database research_bench_requeue.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { admin, server } from './postgres.mjs';
import { waitForUrl } from './wait-for.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { FakeLlmServer, RedisProcess, freePort, installResearchResponders } = require(
  join(root, 'dist/libs/testing/src'),
);

const researches = Number(process.argv[2] ?? 24);
const latencyMs = Number(process.argv[3] ?? 150);
const flushAfterMs = Number(process.argv[4] ?? 2000);
const submitAfterMs = Number(process.argv[5] ?? 0);
const database = 'research_bench_requeue';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const redis = await RedisProcess.start();
const llm = await FakeLlmServer.start({ models: ['qwen-72b'], latencyMs });
installResearchResponders(llm);
const [apiPort, workerPort] = [await freePort(), await freePort()];
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  AUTH_DISABLED: 'true',
  RATE_LIMIT_ENABLED: 'false',
  DATABASE_URL: `${server}/${database}`,
  REDIS_URL: `${redis.serverUrl}/0`,
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: String(apiPort),
  WORKER_PORT: String(workerPort),
  QUEUE_CONCURRENCY: '1',
  LLM_BASE_URL: llm.baseUrl,
  LLM_CACHE_TTL_SECONDS: '0',
  ...(process.env.RECONCILE_INTERVAL_MS ? { RECONCILE_INTERVAL_MS: process.env.RECONCILE_INTERVAL_MS } : {}),
  ...(process.env.RECONCILE_GRACE_MS ? { RECONCILE_GRACE_MS: process.env.RECONCILE_GRACE_MS } : {}),
};
const intervalMs = Number(env.RECONCILE_INTERVAL_MS ?? 15000);
const graceMs = Number(env.RECONCILE_GRACE_MS ?? 10000);

await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
await admin(`CREATE DATABASE ${database}`);
spawnSync(process.execPath, [join(root, 'dist/apps/cli/src/main.js'), 'migrate'], { env, stdio: 'ignore' });
const api = spawn(process.execPath, [join(root, 'dist/apps/api/src/main.js')], { env, stdio: 'ignore' });
const worker = spawn(process.execPath, [join(root, 'dist/apps/worker/src/main.js')], { env, stdio: 'ignore' });
await waitForUrl(`http://127.0.0.1:${apiPort}/health`);
await waitForUrl(`http://127.0.0.1:${workerPort}/health`);
const db = new pg.Client({ connectionString: env.DATABASE_URL });
await db.connect();

const post = (path, body) =>
  fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then((r) => r.json());
for (let i = 1; i <= 4; i += 1) {
  await post('/api/v1/documents', {
    title: `HBM supply note ${i}`,
    text: `HBM supply tightened in quarter ${i} of 2024. Memory makers reported HBM prices rising in quarter ${i}.`,
  });
}
await sleep(submitAfterMs);
const submitted = Date.now();
for (let i = 0; i < researches; i += 1) {
  await post('/api/v1/research', { question: `HBM supply in 2024 (${i + 1})`, max_sources: 4, depth: 1 });
}

// Flush once the first research is running and the others wait for the worker.
for (;;) {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM researches WHERE status <> 'pending'`);
  if (rows[0].n >= 1) break;
  await sleep(50);
}
await sleep(flushAfterMs);
await redis.flushAll();
const flushedAfterMs = Date.now() - submitted;
const { rows: flushRows } = await db.query('SELECT now() AS at');
const flushedAt = flushRows[0].at;
const { rows: atFlush } = await db.query(
  `SELECT id, status, extract(epoch FROM $1::timestamptz - updated_at) * 1000 AS age_ms FROM researches`,
  [flushedAt],
);
const waiting = atFlush.filter((row) => row.status === 'pending');

const deadline = Date.now() + 5 * 60_000;
let finished;
for (;;) {
  const { rows } = await db.query(`SELECT status, count(*)::int AS n FROM researches GROUP BY status`);
  finished = Object.fromEntries(rows.map((row) => [row.status, row.n]));
  if ((finished.completed ?? 0) + (finished.failed ?? 0) === researches || Date.now() > deadline) break;
  await sleep(200);
}
const { rows: requeues } = await db.query(
  `SELECT research_id, extract(epoch FROM min(created_at) - $1::timestamptz) * 1000 AS after_ms
     FROM research_events WHERE type = 'research.requeued' GROUP BY research_id`,
  [flushedAt],
);
const { rows: lastDone } = await db.query(
  `SELECT extract(epoch FROM max(finished_at) - $1::timestamptz) * 1000 AS after_ms FROM researches`,
  [flushedAt],
);
const { rows: terminalEvents } = await db.query(
  `SELECT research_id, count(*)::int AS n FROM research_events
    WHERE type IN ('research.completed', 'research.failed') GROUP BY research_id`,
);

const seconds = (ms) => `${(Number(ms) / 1000).toFixed(1)} s`;
const delays = requeues.map((row) => Number(row.after_ms)).sort((a, b) => a - b);
const waitingIds = new Set(waiting.map((row) => row.id));
console.log(
  `${researches} researches, submitted ${seconds(submitAfterMs)} after the worker started, one worker running ` +
    `one at a time, LLM latency ${latencyMs} ms; ` +
    `RECONCILE_INTERVAL_MS ${intervalMs}, RECONCILE_GRACE_MS ${graceMs}`,
);
console.log(
  `at the flush (${seconds(flushedAfterMs)} after the first submission): ` +
    `${waiting.length} waiting in the queue, ${atFlush.length - waiting.length} running or done`,
);
console.log(
  `re-queued by the reconciler: ${requeues.length} (of them waiting at the flush: ` +
    `${requeues.filter((row) => waitingIds.has(row.research_id)).length})`,
);
if (delays.length > 0) {
  console.log(
    `flush to re-queue: min ${seconds(delays[0])}, median ${seconds(delays[Math.floor(delays.length / 2)])}, ` +
      `max ${seconds(delays.at(-1))} (bound: RECONCILE_INTERVAL_MS + RECONCILE_GRACE_MS = ${seconds(intervalMs + graceMs)})`,
  );
}
console.log(`flush to the last research finished: ${seconds(lastDone[0].after_ms)}`);
console.log(
  `statuses: ${JSON.stringify(finished)}; researches with exactly one terminal event: ` +
    `${terminalEvents.filter((row) => row.n === 1).length} of ${researches}`,
);

await db.end();
for (const child of [api, worker]) child.kill('SIGTERM');
await Promise.all([api, worker].map((child) => new Promise((resolve) => child.once('exit', resolve))));
await llm.stop();
await redis.destroy();
await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);

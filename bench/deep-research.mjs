// Wall time of deep researches against the time their LLM calls would take one after another,
// with a fake OpenAI-compatible server answering every call after a fixed latency.
//
//   npm run build && node bench/deep-research.mjs [researches] [latency-ms] [max-sources]
//
// Needs PostgreSQL and Redis on localhost. Creates and drops the database research_bench_deep.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Redis from 'ioredis';
import { admin, server } from './postgres.mjs';
import { waitForUrl } from './wait-for.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { FakeLlmServer, installResearchResponders } = require(join(root, 'dist/libs/testing/src'));

const researches = Number(process.argv[2] ?? 10);
const latencyMs = Number(process.argv[3] ?? 200);
const maxSources = Number(process.argv[4] ?? 6);

const llm = await FakeLlmServer.start({ models: ['qwen-72b'], latencyMs });
installResearchResponders(llm);
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  // What this bench measures is not the request pipeline: no keys, no rate limits.
  AUTH_DISABLED: 'true',
  RATE_LIMIT_ENABLED: 'false',
  DATABASE_URL: `${server}/research_bench_deep`,
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  QUEUE_PREFIX: 'bench-deep',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: '8110',
  WORKER_PORT: '8111',
  QUEUE_CONCURRENCY: String(researches),
  LLM_BASE_URL: llm.baseUrl,
  LLM_MAX_CONCURRENCY: '64',
  LLM_CACHE_TTL_SECONDS: '0',
};

await admin('DROP DATABASE IF EXISTS research_bench_deep WITH (FORCE)');
await admin('CREATE DATABASE research_bench_deep');
spawnSync(process.execPath, [join(root, 'dist/apps/cli/src/main.js'), 'migrate'], { env, stdio: 'ignore' });
const api = spawn(process.execPath, [join(root, 'dist/apps/api/src/main.js')], { env, stdio: 'ignore' });
const worker = spawn(process.execPath, [join(root, 'dist/apps/worker/src/main.js')], { env, stdio: 'ignore' });
await waitForUrl('http://127.0.0.1:8110/health');
await waitForUrl('http://127.0.0.1:8111/health');

const post = (path, body) =>
  fetch(`http://127.0.0.1:8110${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then((r) => r.json());
for (let i = 1; i <= maxSources; i += 1) {
  await post('/api/v1/documents', {
    title: `Lithium battery supply note ${i}`,
    text: `Lithium battery supply tightened in region ${i} during 2024. Battery makers in region ${i} reported lithium prices falling late in 2024.`,
  });
}

const started = Date.now();
const ids = [];
for (let i = 0; i < researches; i += 1) {
  ids.push(
    (await post('/api/v1/research', { question: `lithium battery supply 2024 (${i + 1})`, max_sources: maxSources }))
      .research_id,
  );
}
const done = [];
for (const id of ids) {
  for (;;) {
    const research = await fetch(`http://127.0.0.1:8110/api/v1/research/${id}`).then((r) => r.json());
    if (['completed', 'failed'].includes(research.status)) {
      done.push(research);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const elapsed = Date.now() - started;

const walls = done.map((r) => Date.parse(r.finished_at) - Date.parse(r.started_at)).sort((a, b) => a - b);
const calls = done.map((r) => r.result?.usage?.total.calls ?? 0);
const pct = (p) => walls[Math.min(walls.length - 1, Math.floor((p / 100) * walls.length))];
console.log(`${researches} researches, ${maxSources} sources each, LLM latency ${latencyMs} ms`);
console.log(
  `completed ${done.filter((r) => r.status === 'completed').length}, failed ${done.filter((r) => r.status === 'failed').length}`,
);
console.log(
  `LLM calls per research ${Math.min(...calls)}-${Math.max(...calls)}: ${Math.max(...calls) * latencyMs} ms one after another`,
);
console.log(`critical path: 4 calls = ${4 * latencyMs} ms`);
console.log(`wall time per research: p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${walls.at(-1)} ms`);
console.log(`all ${researches} done in ${elapsed} ms; most LLM calls in flight at once: ${llm.maxInFlight}`);

for (const child of [api, worker]) child.kill('SIGTERM');
await Promise.all([api, worker].map((child) => new Promise((resolve) => child.once('exit', resolve))));
await llm.stop();
const redis = new Redis(env.REDIS_URL);
const keys = await redis.keys('bench-deep:*');
if (keys.length > 0) await redis.del(...keys);
redis.disconnect();
await admin('DROP DATABASE IF EXISTS research_bench_deep WITH (FORCE)');

// Resident memory (RSS) of the api and the worker: at rest, and at their peak under the heaviest
// work each one does, to size the containers' memory requests and limits (k8s/overlays/production).
//
//   npm run build && node bench/memory.mjs [researches] [queue-concurrency]
//
// Needs PostgreSQL and Redis on localhost. Creates and drops the database research_bench_memory.
// Starts the api and the worker as production runs them (NODE_ENV=production; QUEUE_CONCURRENCY
// as in k8s/base/config.env unless given) with a fake LLM, and reads each process's VmRSS from
// /proc every 100 ms (worker threads included: they are threads of the process). The load, one
// phase after the other:
// 1. at rest, 5 s after both answer /health;
// 2. ingest: eight documents of DOCUMENT_MAX_BYTES (1 MiB; English and Chinese), four at once;
// 3. researches: deep researches over that corpus (the 1 MiB sources are read and ranked), 50
//    event streams open on the api meanwhile;
// 4. reads: GET /api/v1/research/{id} from 32 connections for 15 s.
// Prints, for each process, RSS at rest, the highest sample in each phase, VmHWM (the kernel's own
// peak) and RSS at the end.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { admin, server } from './postgres.mjs';
import { waitForUrl } from './wait-for.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { FakeLlmServer, installResearchResponders } = require(join(root, 'dist/libs/testing/src'));
const { sampleDocument } = require(join(root, 'dist/libs/testing/src/sample-documents.js'));

const productionConcurrency = /^QUEUE_CONCURRENCY=(\d+)$/m.exec(
  readFileSync(join(root, 'k8s/base/config.env'), 'utf8'),
)?.[1];
const researches = Number(process.argv[2] ?? 12);
const concurrency = Number(process.argv[3] ?? productionConcurrency ?? 2);
const MAX_BYTES = 1024 * 1024;
const api = 'http://127.0.0.1:8130';

const llm = await FakeLlmServer.start({ models: ['qwen-72b'], latencyMs: 50 });
installResearchResponders(llm);
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  // What this bench measures is not the request pipeline: no keys, no rate limits.
  AUTH_DISABLED: 'true',
  RATE_LIMIT_ENABLED: 'false',
  DATABASE_URL: `${server}/research_bench_memory`,
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  QUEUE_PREFIX: 'bench-memory',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: '8130',
  WORKER_PORT: '8131',
  QUEUE_CONCURRENCY: String(concurrency),
  DOCUMENT_MAX_BYTES: String(MAX_BYTES),
  LLM_BASE_URL: llm.baseUrl,
  LLM_CACHE_TTL_SECONDS: '0',
};

await admin('DROP DATABASE IF EXISTS research_bench_memory WITH (FORCE)');
await admin('CREATE DATABASE research_bench_memory');
spawnSync(process.execPath, [join(root, 'dist/apps/cli/src/main.js'), 'migrate'], { env, stdio: 'ignore' });
const processes = {
  api: spawn(process.execPath, [join(root, 'dist/apps/api/src/main.js')], { env, stdio: 'ignore' }),
  worker: spawn(process.execPath, [join(root, 'dist/apps/worker/src/main.js')], { env, stdio: 'ignore' }),
};
await waitForUrl(`${api}/health`);
await waitForUrl('http://127.0.0.1:8131/health');

const KIB = 1024;
function status(pid, field) {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? NaN) * KIB;
}
const peaks = {};
let phase = 'rest';
const sampler = setInterval(() => {
  for (const [name, child] of Object.entries(processes)) {
    const key = `${name}/${phase}`;
    peaks[key] = Math.max(peaks[key] ?? 0, status(child.pid, 'VmRSS'));
  }
}, 100);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const post = (path, body) =>
  fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (response) => {
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  });

await sleep(5000);
const atRest = Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, status(child.pid, 'VmRSS')]));

phase = 'ingest';
const documents = Array.from({ length: 8 }, (_, i) => ({
  title: `Chip supply report ${i + 1}`,
  text: sampleDocument(i % 2 === 0 ? 'en' : 'zh', MAX_BYTES, ` Report ${i + 1}.`),
}));
for (let i = 0; i < documents.length; i += 4) {
  await Promise.all(documents.slice(i, i + 4).map((document) => post('/api/v1/documents', document)));
}

phase = 'researches';
const ids = [];
for (let i = 0; i < researches; i += 1) {
  const question =
    i % 2 === 0 ? `chip memory supply and wafer capacity (${i + 1})` : `晶圓代工產能與記憶體供應 (${i + 1})`;
  ids.push((await post('/api/v1/research', { question, max_sources: 8 })).research_id);
}
// Each stream ends by itself after its research's terminal event.
const streams = Array.from({ length: 50 }, (_, i) =>
  fetch(`${api}/api/v1/research/${ids[i % ids.length]}/events`)
    .then((response) => response.text())
    .catch(() => undefined),
);
const finished = [];
for (const id of ids) {
  for (;;) {
    const research = await fetch(`${api}/api/v1/research/${id}`).then((r) => r.json());
    if (['completed', 'failed', 'cancelled'].includes(research.status)) {
      finished.push(research.status);
      break;
    }
    await sleep(200);
  }
}
await Promise.all(streams);

phase = 'reads';
await autocannon({ url: `${api}/api/v1/research/${ids[0]}`, connections: 32, duration: 15 });
await sleep(2000);
clearInterval(sampler);

const mib = (bytes) => `${(bytes / KIB / KIB).toFixed(0)} MiB`;
console.log(
  `${researches} researches (${finished.filter((s) => s === 'completed').length} completed), QUEUE_CONCURRENCY=${concurrency}, ` +
    `8 documents of ${MAX_BYTES / KIB} KiB`,
);
console.log('| process | at rest | ingest peak | researches peak | reads peak | VmHWM | at the end |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const [name, child] of Object.entries(processes)) {
  const cells = [
    atRest[name],
    peaks[`${name}/ingest`],
    peaks[`${name}/researches`],
    peaks[`${name}/reads`],
    status(child.pid, 'VmHWM'),
    status(child.pid, 'VmRSS'),
  ];
  console.log(`| ${name} | ${cells.map(mib).join(' | ')} |`);
}

for (const child of Object.values(processes)) child.kill('SIGTERM');
await Promise.all(Object.values(processes).map((child) => new Promise((resolve) => child.once('exit', resolve))));
await llm.stop();
const redis = new Redis(env.REDIS_URL);
const keys = await redis.keys('bench-memory:*');
if (keys.length > 0) await redis.del(...keys);
redis.disconnect();
await admin('DROP DATABASE IF EXISTS research_bench_memory WITH (FORCE)');

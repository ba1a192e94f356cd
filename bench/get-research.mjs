// Throughput of GET /api/v1/research/{id} against a bare node:http handler doing the same
// persistence work (bench/bare-server.mjs): one primary-key read of the same row, answered with
// the same JSON.
//
//   npm run build && node bench/get-research.mjs [seconds] [connections] [rounds]
//
// Needs PostgreSQL and Redis on localhost. Creates and drops the database research_bench_get and
// uses its own queue prefix. Two rows are read: a completed research (the example corpus and the
// deployment chapter's question, run by the real worker) and a pending one. Both servers stay up;
// each round loads the bare server, then the api, for each row, so that the machine's other load
// falls on both alike. Prints requests/s, latency percentiles and the CPU time the server spent
// per request for each load, and the ratio.
//
// BENCH_OTHER_API=<path of another build's dist/apps/api/src/main.js> (bench/build-revision.mjs)
// loads that api too, on port 8103, after the current one in each round: two revisions compared in
// the same run.
//
// BENCH_OTHER_MAY_DIFFER=1 lets that other build answer with other fields (an older revision, for
// finding where the read path got slower); it says so and goes on.
//
// BENCH_ROWS=completed or BENCH_ROWS=pending loads only that row.
//
// With BENCH_CPU_PROF=<dir> the api and the bare server run with `node --cpu-prof` and write their
// profiles to <dir>/api and <dir>/bare when they exit (summarise them with bench/profile-top.mjs).
import { spawn, spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { benchApiEnv } from './api-env.mjs';
import { UNREACHED_RATE_LIMITS, createApiKey } from './api-key.mjs';
import { measured } from './cpu.mjs';
import { clearQueue } from './server-setup.mjs';
import { admin, server } from './postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 32);
const rounds = Number(process.argv[4] ?? 3);
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  DATABASE_URL: `${server}/research_bench_get`,
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  QUEUE_PREFIX: 'bench-get',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: '8100',
  WORKER_PORT: '8102',
  ...UNREACHED_RATE_LIMITS,
  BENCH_BARE_PREPARED: process.env.BENCH_BARE_PREPARED ?? '0',
};
const API = 'http://127.0.0.1:8100';
const BARE = 'http://127.0.0.1:8101';
const OTHER = 'http://127.0.0.1:8103';

async function waitFor(what, check) {
  for (let i = 0; i < 600; i += 1) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const listening = (base) => waitFor(base, async () => (await fetch(`${base}/`)) !== undefined);

const apiEnv = benchApiEnv();

function start(args, nodeOptions = [], port = env.PORT) {
  const currentApi = port === env.PORT && args[0] === join(root, 'dist/apps/api/src/main.js');
  return spawn(process.execPath, [...nodeOptions, ...args], {
    env: { ...env, ...(currentApi ? apiEnv : {}), PORT: port },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stop(child) {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

async function submit(question) {
  const response = await fetch(`${API}/api/v1/research`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ question, max_sources: 10, verify: true, language: 'zh-TW' }),
  });
  return (await response.json()).research_id;
}

const read = async (base, id) =>
  (await fetch(`${base}/api/v1/research/${id}`, { headers: { authorization: `Bearer ${apiKey}` } })).json();

function report(name, result) {
  const ok = result['2xx'];
  console.log(
    `${name.padEnd(42)} ${(ok / seconds).toFixed(0).padStart(6)} req/s   p50 ${result.latency.p50} ms   ` +
      `p99 ${result.latency.p99} ms   CPU ${result.cpuPerRequestUs.toFixed(0)} µs/request   PostgreSQL ${result.databaseCpuPerRequestUs.toFixed(0)} µs   ` +
      `non-2xx ${result.non2xx}   errors ${result.errors}`,
  );
  return ok / seconds;
}

await admin('DROP DATABASE IF EXISTS research_bench_get WITH (FORCE)');
await admin('CREATE DATABASE research_bench_get');
const cli = join(root, 'dist/apps/cli/src/main.js');
spawnSync(process.execPath, [cli, 'migrate'], { env, stdio: 'ignore' });
spawnSync(process.execPath, [cli, 'ingest', join(root, 'examples/corpus')], { env, stdio: 'ignore' });
// The bare server ignores it; the api authenticates every request with it.
const apiKey = createApiKey(env);
await clearQueue(env);

const profiled = (name) =>
  process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_CPU_PROF, name)}`] : [];
const api = start([join(root, 'dist/apps/api/src/main.js')], profiled('api'));
const worker = start([join(root, 'dist/apps/worker/src/main.js')]);
await listening(API);
const completed = await submit('2024年全球AI晶片市場分析');
await waitFor('the research to complete', async () => (await read(API, completed)).status === 'completed');
// With no worker left, the next research stays pending.
await stop(worker);
const pending = await submit('HBM 記憶體供應');
const bare = start([join(root, 'bench/bare-server.mjs'), '8101'], profiled('bare'));
await listening(BARE);
const other = process.env.BENCH_OTHER_API ? start([process.env.BENCH_OTHER_API], [], '8103') : undefined;
if (other) await listening(OTHER);
const servers = [
  ['bare node:http', BARE, bare],
  ['NestJS + Fastify api', API, api],
  ...(other ? [['api, other build', OTHER, other]] : []),
];

const rows = [
  ['completed', completed],
  ['pending', pending],
].filter(([name]) => !process.env.BENCH_ROWS || process.env.BENCH_ROWS.split(',').includes(name));
for (const [name, id] of rows) {
  const [fromApi, fromBare] = [await read(API, id), await read(BARE, id)];
  if (other && !isDeepStrictEqual(fromApi, await read(OTHER, id))) {
    const message = `the two builds of the api answer differently for the ${name} research`;
    if (process.env.BENCH_OTHER_MAY_DIFFER !== '1') throw new Error(message);
    console.log(`${message}: ${JSON.stringify(await read(OTHER, id)).length} bytes of JSON from the other build`);
  }
  if (!isDeepStrictEqual(fromApi, fromBare)) {
    throw new Error(
      `the two servers answer differently for the ${name} research:\n${JSON.stringify(fromApi)}\n${JSON.stringify(fromBare)}`,
    );
  }
  console.log(`${name} research: ${JSON.stringify(fromApi).length} bytes of JSON, the same from both servers`);
}

const load = (base, id, duration) =>
  autocannon({
    url: `${base}/api/v1/research/${id}`,
    connections,
    duration,
    headers: { authorization: `Bearer ${apiKey}` },
  });
for (const [, base] of servers) await load(base, completed, 2);

const rotated = (length, by) => Array.from({ length }, (_, i) => (i + by) % length);

const ratios = new Map();
for (let round = 1; round <= rounds; round += 1) {
  for (const [row, id] of rows) {
    // Each round starts with another server, so that none is always loaded first or last.
    const figures = [];
    for (const index of rotated(servers.length, round - 1)) {
      const [name, base, child] = servers[index];
      const result = await measured(child.pid, () => load(base, id, seconds));
      figures[index] = report(`round ${round} ${row}: ${name}`, result);
    }
    servers.slice(1).forEach(([name], i) => {
      const key = `${name} / bare, ${row}`;
      ratios.set(key, [...(ratios.get(key) ?? []), Math.round((100 * figures[i + 1]) / figures[0])]);
    });
  }
}
for (const [key, values] of ratios) console.log(`${key}: ${values.map((r) => `${r}%`).join(', ')}`);

await Promise.all([stop(api), stop(bare), ...(other ? [stop(other)] : [])]);
await clearQueue(env);
await admin('DROP DATABASE IF EXISTS research_bench_get WITH (FORCE)');

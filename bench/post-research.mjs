// Throughput of POST /api/v1/research against a bare node:http handler doing the same
// persistence work (bench/bare-server.mjs): in one transaction the research (with its event) and
// its audit record, then one Bull job.
//
//   npm run build && node bench/post-research.mjs [seconds] [connections] [rounds]
//
// Needs PostgreSQL and Redis on localhost. Creates and drops the database research_bench and
// uses its own queue prefix. All servers stay up; each round loads each server in turn, starting
// with another one each round, so that the machine's other load falls on all alike. Prints
// requests/s and latency percentiles for each load, the CPU time the server spent per request,
// and the ratio of each round. Then it loads each server at the same fixed rate (BENCH_RATE, by
// default half the lowest throughput of an api), in rounds as well, and compares their p99 latency,
// each round's and that of all rounds' answers together.
//
// BENCH_OTHER_API=<path of another build's dist/apps/api/src/main.js> (bench/build-revision.mjs)
// loads that api too, on port 8103: two revisions compared in the same run.
//
// BENCH_SERVER_CPUS=1 gives the servers a CPU of their own, and the load generator, PostgreSQL and
// Redis the other (bench/cpu-pinning.mjs).
//
// BENCH_ROUND_WARMUP=<seconds> loads each server at the paced rate for that long, unmeasured,
// before each of its paced rounds, so that a round measures the steady state and not the return
// from idleness (see bench/paced-compare.mjs).
//
// BENCH_STALLS=1 prints, after each paced load, when its answers over 40 ms came (bench/paced.mjs).
//
// With BENCH_CPU_PROF=<dir> the current api runs with `node --cpu-prof` and writes its profile
// there when it stops (read it with bench/profile-top.mjs). BENCH_API_ENV: see bench/api-env.mjs.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { benchApiEnv } from './api-env.mjs';
import { UNREACHED_RATE_LIMITS, createApiKey } from './api-key.mjs';
import { pinLoadAndServices, spawnServer } from './cpu-pinning.mjs';
import { measured } from './cpu.mjs';
import { SEED_RESEARCH, pacedSubmissions } from './paced.mjs';
import { clearQueue } from './server-setup.mjs';
import { p99RatioInterval, quantileOf } from './round-bootstrap.mjs';
import { admin, server } from './postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 32);
const rounds = Number(process.argv[4] ?? 1);
const roundWarmup = Number(process.env.BENCH_ROUND_WARMUP ?? 0);
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  DATABASE_URL: `${server}/research_bench`,
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  QUEUE_PREFIX: 'bench',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: '8100',
  WORKER_PORT: '8102',
  ...UNREACHED_RATE_LIMITS,
  BENCH_BARE_PREPARED: process.env.BENCH_BARE_PREPARED ?? '0',
};

async function waitForPort(port) {
  for (let i = 0; i < 100; i += 1) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

function load(url) {
  return autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: SEED_RESEARCH,
  });
}

function report(name, result) {
  const ok = result['2xx'];
  console.log(
    `${name.padEnd(32)} ${(ok / seconds).toFixed(0).padStart(6)} req/s   p50 ${result.latency.p50} ms   ` +
      `p90 ${result.latency.p90} ms   p99 ${result.latency.p99} ms   max ${result.latency.max} ms   CPU ${result.cpuPerRequestUs.toFixed(0)} µs/request   PostgreSQL ${result.databaseCpuPerRequestUs.toFixed(0)} µs   ` +
      `non-2xx ${result.non2xx}   errors ${result.errors}`,
  );
  // BENCH_STALLS=1: when the paced load's slow answers came, to set against PostgreSQL's log.
  if (process.env.BENCH_STALLS === '1' && result.stalls?.length) {
    for (const stall of result.stalls)
      console.log(`    stall at ${stall.at}: ${stall.requests} slow, worst ${stall.worst} ms`);
  }
  return ok / seconds;
}

await admin('DROP DATABASE IF EXISTS research_bench WITH (FORCE)');
await admin('CREATE DATABASE research_bench');
spawnSync(process.execPath, [join(root, 'dist/apps/cli/src/main.js'), 'migrate'], { env, stdio: 'inherit' });
// The bare server ignores it; the api authenticates every request with it.
const apiKey = createApiKey(env);

await clearQueue(env);
pinLoadAndServices();
const other = process.env.BENCH_OTHER_API;
const profile = process.env.BENCH_CPU_PROF;
const apiEnv = benchApiEnv();
const servers = [
  ['bare node:http', [join(root, 'bench/bare-server.mjs'), '8101'], 8101],
  [
    'NestJS + Fastify api',
    [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), join(root, 'dist/apps/api/src/main.js')],
    8100,
  ],
  ...(other ? [['api, other build', [other], 8103]] : []),
].map(([name, args, port]) => ({
  name,
  port,
  child: spawnServer(args, {
    env: { ...env, ...(port === 8100 ? apiEnv : {}), PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  }),
}));
// Whatever happens to this script, the servers it started stop with it.
process.on('exit', () => servers.forEach(({ child }) => child.kill()));
for (const { port } of servers) {
  await waitForPort(port);
  // Warm up.
  await autocannon({
    url: `http://127.0.0.1:${port}/api/v1/research`,
    method: 'POST',
    connections,
    duration: 2,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: '{"question":"warm up"}',
  });
}
const ratios = servers.slice(1).map(() => []);
/** [server index, req/s] of every load of an api. */
const throughputs = [];
for (let round = 1; round <= rounds; round += 1) {
  // Each round starts with another server, so that none is always loaded first or last.
  const figures = [];
  for (const index of Array.from(servers.keys(), (i) => (i + round - 1) % servers.length)) {
    const { name, port, child } = servers[index];
    await clearQueue(env);
    const result = await measured(child.pid, () => load(`http://127.0.0.1:${port}/api/v1/research`));
    figures[index] = report(`round ${round}: ${name}`, result);
    if (index > 0) throughputs.push([index, figures[index]]);
  }
  figures.slice(1).forEach((figure, i) => ratios[i].push(Math.round((100 * figure) / figures[0])));
}
// Latency at the same offered load, which every server keeps up with, sent at a steady pace
// (bench/paced.mjs): at full load, latency only says how long the queue of `connections`
// requests is (connections / throughput).
const rate = Number(process.env.BENCH_RATE ?? Math.round(0.5 * Math.min(...throughputs.map((t) => t[1]))));
// In rounds too, each starting with another server: PostgreSQL's own work after a load (vacuum,
// checkpoints) would otherwise fall on whichever server comes first.
const latencyRatios = servers.slice(1).map(() => []);
// Every paced answer of every round, by server: one p99 over all rounds moves far less with the
// machine's hiccups than each round's own.
const pooled = servers.map(() => []);
const byRound = servers.map(() => []);
for (let round = 1; round <= rounds; round += 1) {
  const p99s = [];
  for (const index of Array.from(servers.keys(), (i) => (i + round - 1) % servers.length)) {
    const { name, port, child } = servers[index];
    await clearQueue(env);
    const load = (forSeconds) => pacedSubmissions({ port, apiKey, rate, seconds: forSeconds });
    if (roundWarmup > 0) await load(roundWarmup);
    const result = await measured(child.pid, () => load(seconds));
    p99s[index] = result.latency.p99;
    pooled[index].push(...result.latencies);
    byRound[index].push(result.latencies);
    report(`round ${round} at ${rate} req/s: ${name}`, result);
  }
  p99s.slice(1).forEach((p99, i) => latencyRatios[i].push((p99 / p99s[0]).toFixed(2)));
}
const pooledP99 = pooled.map((latencies) =>
  quantileOf(
    latencies.sort((a, b) => a - b),
    0.99,
  ),
);
servers.forEach(({ name }, i) => {
  const [p50, p90, p99] = [0.5, 0.9, 0.99].map((q) => quantileOf(pooled[i], q).toFixed(1));
  console.log(`${name}, all ${rounds} paced rounds together: p50 ${p50} ms   p90 ${p90} ms   p99 ${p99} ms`);
});
servers.slice(1).forEach(({ name }, i) => {
  console.log(`${name} / bare: ${ratios[i].map((ratio) => `${ratio}%`).join(', ')}`);
  console.log(`${name} p99 at ${rate} req/s / bare's: ${latencyRatios[i].map((ratio) => `${ratio}×`).join(', ')}`);
  // bench/round-bootstrap.mjs: the spread of this ratio over runs like this one.
  const [low, high] = p99RatioInterval(byRound[0], byRound[i + 1]);
  console.log(
    `${name} p99 of all paced rounds / bare's: ${(pooledP99[i + 1] / pooledP99[0]).toFixed(2)}× ` +
      `(90% interval over resampled rounds ${low.toFixed(2)}–${high.toFixed(2)}×)`,
  );
});
for (const { child } of servers) child.kill('SIGTERM');
await Promise.all(servers.map(({ child }) => new Promise((resolve) => child.once('exit', resolve))));

await clearQueue(env);
await admin('DROP DATABASE IF EXISTS research_bench WITH (FORCE)');

// Several servers loaded in turn with POST /api/v1/research at one steady rate (bench/paced.mjs),
// in many short rounds, each round starting with another server, and nothing loaded at full speed
// before: each server's percentiles over all its rounds' answers together. On a shared machine one
// round's p99 follows its hiccups; the pooled one moves much less.
//
//   npm run build && node bench/paced-compare.mjs <rate> <seconds> <rounds> <server> [<server> ...]
//
// A server is `name=ENV=value;ENV2=value|entry|node options`, where the entry is `bare`
// (bench/bare-server.mjs), empty (this build's api) or the path of another build's
// dist/apps/api/src/main.js (bench/build-revision.mjs). For example:
//
//   node bench/paced-compare.mjs 165 5 10 'bare=|bare' 'api=|' \
//     'before=|/tmp/build-8ec767f/dist/apps/api/src/main.js' 'semi32=||--max-semi-space-size=32'
//
// BENCH_SERVER_CPUS=1 gives the servers a CPU of their own (bench/cpu-pinning.mjs).
//
// BENCH_ROUND_WARMUP=<seconds> loads each server at the same rate for that long, unmeasured, just
// before each of its rounds: the round then measures the steady state, not the server's return
// from idleness. V8 collects garbage when a process goes idle (its memory reducer), and a
// collection that idleness started runs on into the load that follows: on a heap the api's
// size, on a CPU of its own, it stalls answers by 100 ms and more, more often than a steady load
// does.
//
// BENCH_PAUSE_IDLE=1 stops (SIGSTOP) every server but the one being loaded, and resumes it a
// second before its round: an idle server's own work (its timers, and the garbage collections V8
// starts when a process goes idle) then never falls on another server's round, which matters
// most when the servers share one CPU.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { pinLoadAndServices, spawnServer } from './cpu-pinning.mjs';
import { measured } from './cpu.mjs';
import { pacedSubmissions } from './paced.mjs';
import { p99RatioInterval, quantileOf } from './round-bootstrap.mjs';
import { admin } from './postgres.mjs';
import { clearQueue, prepareServers, untilAnswering } from './server-setup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [rate, seconds, rounds] = process.argv.slice(2, 5).map(Number);
const specs = process.argv.slice(5);
if (!rate || !seconds || !rounds || specs.length === 0) {
  throw new Error('usage: node bench/paced-compare.mjs <rate> <seconds> <rounds> <server> [<server> ...]');
}
const { env, apiKey } = await prepareServers('research_bench_compare', 'bench-compare');

pinLoadAndServices();
const servers = specs.map((spec, i) => {
  const name = spec.slice(0, spec.indexOf('='));
  const [settings, entry, nodeOptions = ''] = spec.slice(spec.indexOf('=') + 1).split('|');
  const extra = Object.fromEntries(
    settings
      .split(';')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  const port = 8110 + i;
  const script =
    entry === 'bare'
      ? [join(root, 'bench/bare-server.mjs'), String(port)]
      : [entry || join(root, 'dist/apps/api/src/main.js')];
  const child = spawnServer([...nodeOptions.split(' ').filter(Boolean), ...script], {
    env: { ...env, ...extra, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { name, port, child, latencies: [], rounds: [], p99s: [] };
});
const pauseIdle = process.env.BENCH_PAUSE_IDLE === '1';
const roundWarmup = Number(process.env.BENCH_ROUND_WARMUP ?? 0);
process.on('exit', () =>
  servers.forEach(({ child }) => {
    child.kill('SIGCONT');
    child.kill();
  }),
);

const load = (port, forSeconds) => pacedSubmissions({ port, apiKey, rate, seconds: forSeconds });
for (const { port } of servers) {
  await untilAnswering(port);
  // Warm up at the same rate.
  await load(port, 5);
}
if (pauseIdle) servers.forEach(({ child }) => child.kill('SIGSTOP'));
for (let round = 1; round <= rounds; round += 1) {
  for (const index of servers.map((_, i) => (i + round - 1) % servers.length)) {
    const target = servers[index];
    if (pauseIdle) target.child.kill('SIGCONT');
    await sleep(1000);
    if (roundWarmup > 0) await load(target.port, roundWarmup);
    const result = await measured(target.child.pid, () => load(target.port, seconds));
    if (pauseIdle) target.child.kill('SIGSTOP');
    target.latencies.push(...result.latencies);
    target.rounds.push(result.latencies);
    target.p99s.push(result.latency.p99);
    console.log(
      `round ${round} ${target.name.padEnd(12)} p50 ${result.latency.p50} ms   p90 ${result.latency.p90} ms   ` +
        `p99 ${result.latency.p99} ms   CPU ${result.cpuPerRequestUs.toFixed(0)} µs/request   ` +
        `PostgreSQL ${result.databaseCpuPerRequestUs.toFixed(0)} µs   non-2xx ${result.non2xx}`,
    );
  }
}
const quantile = (sorted, q) => quantileOf(sorted, q).toFixed(1);
/** The most memory the process has held (VmHWM, Linux), in MB. */
const peakRssMb = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
for (const { name, latencies, p99s, child } of servers) {
  const sorted = latencies.sort((a, b) => a - b);
  console.log(
    `${name}: p99 by round ${p99s.join(', ')} ms; all rounds together p50 ${quantile(sorted, 0.5)} ms   ` +
      `p90 ${quantile(sorted, 0.9)} ms   p99 ${quantile(sorted, 0.99)} ms   p99.9 ${quantile(sorted, 0.999)} ms   ` +
      `peak RSS ${peakRssMb(child.pid).toFixed(0)} MB`,
  );
}
const [baseline, ...others] = servers.map(({ name, latencies, rounds: byRound }) => ({
  name,
  byRound,
  p99: Number(quantile(latencies, 0.99)),
}));
for (const { name, byRound, p99 } of others) {
  // bench/round-bootstrap.mjs: the spread of this ratio over runs like this one.
  const [low, high] = p99RatioInterval(baseline.byRound, byRound);
  console.log(
    `${name}: p99 of all rounds ${(p99 / baseline.p99).toFixed(2)}× ${baseline.name}'s ` +
      `(90% interval over resampled rounds ${low.toFixed(2)}–${high.toFixed(2)}×)`,
  );
}
for (const { child } of servers) {
  child.kill('SIGCONT');
  child.kill('SIGTERM');
}
await Promise.all(servers.map(({ child }) => new Promise((resolve) => child.once('exit', resolve))));
await admin('DROP DATABASE IF EXISTS research_bench_compare WITH (FORCE)');
await clearQueue(env);

// One server alone under a steady load of POST /api/v1/research (bench/paced.mjs), with V8's own
// trace of its garbage collections (--trace-gc-nvp, and --trace-concurrent-marking): what the
// young and the old generation cost it, and how many of its slowest answers a collection ended
// during. For the steady state that paced-compare's rounds, with their idle gaps, do not show.
//
//   npm run build && node bench/gc-trace.mjs <server> <seconds> [node options ...]
//
// The server is `bare` (bench/bare-server.mjs), `api` (this build's api) or the path of another
// build's dist/apps/api/src/main.js (bench/build-revision.mjs). For example:
//
//   BENCH_SERVER_CPUS=1 node bench/gc-trace.mjs api 120
//   BENCH_SERVER_CPUS=1 BENCH_API_ENV=API_CONCURRENT_MARKING=true node bench/gc-trace.mjs api 120
//   BENCH_SERVER_CPUS=1 node bench/gc-trace.mjs bare 120
//
// BENCH_RATE sets the rate (165 a second by default), BENCH_SERVER_CPUS gives the server a CPU of
// its own (bench/cpu-pinning.mjs), BENCH_API_ENV adds settings (bench/api-env.mjs). The server is
// warmed up at the same rate for 10 s first.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchApiEnv } from './api-env.mjs';
import { pinLoadAndServices, spawnServer } from './cpu-pinning.mjs';
import { measured } from './cpu.mjs';
import { pacedSubmissions } from './paced.mjs';
import { admin } from './postgres.mjs';
import { quantileOf } from './round-bootstrap.mjs';
import { clearQueue, prepareServers, untilAnswering } from './server-setup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [target, secondsArg, ...nodeOptions] = process.argv.slice(2);
const seconds = Number(secondsArg);
const rate = Number(process.env.BENCH_RATE ?? 165);
if (!target || !seconds) throw new Error('usage: node bench/gc-trace.mjs <bare|api|main.js> <seconds> [node options]');

const { env, apiKey } = await prepareServers('research_bench_gc', 'bench-gc');
pinLoadAndServices();

const port = 8140;
const script =
  target === 'bare'
    ? [join(root, 'bench/bare-server.mjs'), String(port)]
    : [target === 'api' ? join(root, 'dist/apps/api/src/main.js') : target];
const child = spawnServer(['--trace-gc-nvp', '--trace-concurrent-marking', ...nodeOptions, ...script], {
  env: { ...env, ...(target === 'bare' ? {} : benchApiEnv()), PORT: String(port) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
process.on('exit', () => child.kill());
// V8 writes its trace to stdout as each collection ends: each line is stamped when it arrives.
const trace = [];
let partial = '';
child.stdout.setEncoding('utf8').on('data', (chunk) => {
  const lines = (partial + chunk).split('\n');
  partial = lines.pop();
  for (const line of lines) trace.push({ at: Date.now(), line });
});

await untilAnswering(port);
const load = (forSeconds) => pacedSubmissions({ port, apiKey, rate, seconds: forSeconds });
await load(10);
const from = Date.now();
const result = await measured(child.pid, () => load(seconds));
await sleep(200);
const until = Date.now();

const field = (line, name) => Number(new RegExp(` ${name}=([0-9.]+)`).exec(line)?.[1]);
const collections = trace
  .filter(({ at, line }) => at >= from && at <= until && / gc=(s|mc) /.test(line))
  .map(({ at, line }) => ({ at, kind: / gc=s /.test(line) ? 'scavenge' : 'mark-compact', line }));
const scavenges = collections.filter(({ kind }) => kind === 'scavenge');
const markCompacts = collections.filter(({ kind }) => kind === 'mark-compact');
const sum = (values) => values.reduce((a, b) => a + b, 0);
const mean = (values) => (values.length ? sum(values) / values.length : 0);
const pauses = (list) => list.map(({ line }) => field(line, 'pause'));
// Marking tasks V8 started on its background threads while JavaScript still ran: those that started
// before a mark-compact's pause began (V8 also marks on them during the pause, with the main thread).
const v8Time = (line) => Number(/ (\d+) ms: /.exec(line)?.[1]);
let markingBesideJs = 0;
let taskStarts = [];
for (const { at, line } of trace) {
  if (/Starting major concurrent marking task/.test(line)) taskStarts.push(v8Time(line));
  if (!/ gc=mc /.test(line)) continue;
  const pauseStart = v8Time(line) - field(line, 'pause') - 1;
  if (at >= from && at <= until) markingBesideJs += taskStarts.filter((start) => start < pauseStart).length;
  taskStarts = [];
}

const sorted = [...result.latencies].sort((a, b) => a - b);
const q = (p) => quantileOf(sorted, p).toFixed(1);
const p99 = quantileOf(sorted, 0.99);
const slowest = result.answers.filter(([, ms]) => ms >= p99);
// A collection ended while the answer was awaited (the trace line's stamp may lag by a few ms).
const duringCollection = slowest.filter(([at, ms]) =>
  collections.some((collection) => collection.at >= at && collection.at <= at + ms + 5),
).length;
const over = (ms) => result.latencies.filter((latency) => latency >= ms).length;
const window = (until - from) / 1000;

console.log(
  `${target} ${nodeOptions.join(' ')} at ${rate} req/s for ${seconds} s: ${result.latencies.length} answers, ` +
    `p50 ${q(0.5)} ms   p90 ${q(0.9)} ms   p99 ${q(0.99)} ms   p99.9 ${q(0.999)} ms   max ${sorted.at(-1).toFixed(1)} ms   ` +
    `CPU ${result.cpuPerRequestUs.toFixed(0)} µs/request   non-2xx ${result.non2xx}`,
);
console.log(
  `  scavenges: ${scavenges.length} (one every ${((window * 1000) / Math.max(1, scavenges.length)).toFixed(0)} ms), ` +
    `pause mean ${mean(pauses(scavenges)).toFixed(1)} ms, max ${Math.max(0, ...pauses(scavenges)).toFixed(1)} ms; ` +
    `surviving ${(mean(scavenges.map(({ line }) => field(line, 'new_space_survived'))) / 1024).toFixed(0)} KB each, ` +
    `promoted ${(sum(scavenges.map(({ line }) => field(line, 'promoted'))) / 1024 / window).toFixed(0)} KB/s`,
);
console.log(
  `  mark-compacts: ${markCompacts.length}, pause mean ${mean(pauses(markCompacts)).toFixed(1)} ms, ` +
    `max ${Math.max(0, ...pauses(markCompacts)).toFixed(1)} ms; marking tasks started beside JavaScript: ${markingBesideJs}`,
);
console.log(
  `  answers at or over p99: ${slowest.length}, ${duringCollection} of them while a collection ended; ` +
    `answers over 10 ms: ${over(10)}, over 20 ms: ${over(20)}, over 40 ms: ${over(40)}`,
);
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
await admin('DROP DATABASE IF EXISTS research_bench_gc WITH (FORCE)');
await clearQueue(env);

// One api alone at a steady rate: POST /api/v1/research sent at `rate` per second for `seconds`,
// after an idle gap, as the paced half of bench/post-research.mjs does, but with nothing else
// loaded before it. For profiling the api's tail: BENCH_CPU_PROF=<dir> writes a CPU profile,
// BENCH_API_ENV sets its configuration (bench/api-env.mjs).
//
//   npm run build && node bench/paced-api.mjs [rate] [seconds] [rounds]
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchApiEnv } from './api-env.mjs';
import { UNREACHED_RATE_LIMITS, createApiKey } from './api-key.mjs';
import { measured } from './cpu.mjs';
import { pacedSubmissions } from './paced.mjs';
import { waitForUrl } from './wait-for.mjs';
import { admin, server } from './postgres.mjs';
import { clearQueue } from './server-setup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rate = Number(process.argv[2] ?? 165);
const seconds = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 3);
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  DATABASE_URL: `${server}/research_bench_paced`,
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  QUEUE_PREFIX: 'bench-paced',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: '8104',
  ...UNREACHED_RATE_LIMITS,
};

await admin('DROP DATABASE IF EXISTS research_bench_paced WITH (FORCE)');
await admin('CREATE DATABASE research_bench_paced');
spawnSync(process.execPath, [join(root, 'dist/apps/cli/src/main.js'), 'migrate'], { env, stdio: 'ignore' });
const apiKey = createApiKey(env);
await clearQueue(env);
const profile = process.env.BENCH_CPU_PROF;
const child = spawn(
  process.execPath,
  [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), join(root, 'dist/apps/api/src/main.js')],
  { env: { ...env, ...benchApiEnv() }, stdio: ['ignore', 'ignore', 'inherit'] },
);
process.on('exit', () => child.kill());
await waitForUrl(`http://127.0.0.1:${env.PORT}/health`);
const load = (r, s) => pacedSubmissions({ port: env.PORT, apiKey, rate: r, seconds: s });
await load(rate, 3);
for (let round = 1; round <= rounds; round += 1) {
  await sleep(2000);
  const result = await measured(child.pid, () => load(rate, seconds));
  const { p50, p90, p99, max } = result.latency;
  console.log(
    `round ${round} at ${rate} req/s: p50 ${p50} ms   p90 ${p90} ms   p99 ${p99} ms   max ${max} ms   ` +
      `CPU ${result.cpuPerRequestUs.toFixed(0)} µs/request   PostgreSQL ${result.databaseCpuPerRequestUs.toFixed(0)} µs   non-2xx ${result.non2xx}`,
  );
  for (const stall of result.stalls)
    console.log(`    stall at ${stall.at}: ${stall.requests} slow, worst ${stall.worst} ms`);
}
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
await clearQueue(env);
await admin('DROP DATABASE IF EXISTS research_bench_paced WITH (FORCE)');

// Ingest time against document size, English and Chinese, from 10 KB to the maximum
// (DOCUMENT_MAX_BYTES, 1 MiB), and the api's event-loop delay while it ingests a document of
// the maximum size.
//
//   npm run build && node bench/ingest.mjs
//
// Needs PostgreSQL and Redis on localhost. Creates and drops the database research_bench_ingest.
// Prints, for each size:
// - the old way, in this process: Intl.Segmenter over the whole text at once (as the api did
//   before), CPU time; sizes stop once one takes longer than BASELINE_LIMIT_MS;
// - the new way, in this process: the pieces of libs/search (dist), CPU time;
// - through the api: POST /api/v1/documents wall time, and the api process's CPU time for it
//   (process_cpu_seconds_total, worker threads included; PostgreSQL's own work is not).
// Then, for a maximum-size document of each language, the api's event-loop delay during the
// ingest: prom-client's nodejs_eventloop_lag_* gauges come from a monitorEventLoopDelay histogram
// that every /metrics scrape reads and resets, so a scrape just before the POST and one just
// after give exactly that window (its values include the 10 ms sampling interval: an idle loop
// reads ~10 ms). Also the round trips of /health requests sent every 10 ms meanwhile.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { admin, server } from './postgres.mjs';
import { waitForUrl } from './wait-for.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { sampleDocument } = require(join(root, 'dist/libs/testing/src/sample-documents.js'));
const { toSearchText } = require(join(root, 'dist/libs/search/src/text/segmenter.js'));

const MAX_BYTES = 1024 * 1024;
const SIZES = [10, 20, 40, 80, 160, 320, 640, 1024].map((kib) => kib * 1024);
const BASELINE_LIMIT_MS = 5000;
const port = 8120;
const baseUrl = `http://127.0.0.1:${port}`;
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  // What this bench measures is not the request pipeline: no keys, no rate limits.
  AUTH_DISABLED: 'true',
  RATE_LIMIT_ENABLED: 'false',
  DATABASE_URL: `${server}/research_bench_ingest`,
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  QUEUE_PREFIX: 'bench-ingest',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: String(port),
  DOCUMENT_MAX_BYTES: String(MAX_BYTES),
};

/** The text as the api indexed it before: Intl.Segmenter over the whole text at once. */
function wholeTextSearchText(text) {
  const words = [];
  for (const { segment, isWordLike } of new Intl.Segmenter(undefined, { granularity: 'word' }).segment(
    text.normalize('NFKC').toLowerCase(),
  )) {
    if (isWordLike) words.push(segment);
  }
  return words.join(' ');
}

function cpuMs(work) {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

async function metrics() {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const value = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    cpuSeconds: value('process_cpu_seconds_total'),
    lagP99: value('nodejs_eventloop_lag_p99_seconds'),
    lagMax: value('nodejs_eventloop_lag_max_seconds'),
  };
}

async function post(text) {
  const response = await fetch(`${baseUrl}/api/v1/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'bench', text }),
  });
  if (response.status !== 201) throw new Error(`POST answered ${response.status}: ${await response.text()}`);
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const label = (bytes) => `${bytes / 1024} KiB`.padEnd(9);
const ms = (value) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : '-').padStart(9);
// Each document differs in its last sentence, so none is a duplicate of another.
const documents = (language) =>
  SIZES.map((bytes) => ({ bytes, text: sampleDocument(language, bytes, `Size ${bytes} ${language}.`) }));

console.log('In this process, CPU time to build the search text');
console.log(
  `${'size'.padEnd(9)} ${'en whole'.padStart(9)} ${'en pieces'.padStart(9)} ${'zh whole'.padStart(9)} ${'zh pieces'.padStart(9)}`,
);
const baselineStopped = { en: false, zh: false };
for (const [index, bytes] of SIZES.entries()) {
  const row = [label(bytes)];
  for (const language of ['en', 'zh']) {
    const text = documents(language)[index].text;
    let whole = NaN;
    if (!baselineStopped[language]) {
      whole = cpuMs(() => wholeTextSearchText(text));
      baselineStopped[language] = whole > BASELINE_LIMIT_MS;
    }
    row.push(ms(whole), ms(cpuMs(() => toSearchText(text))));
  }
  console.log(row.join(' '));
}
console.log(`(whole text: a language stops after its first size over ${BASELINE_LIMIT_MS} ms)`);

await admin('DROP DATABASE IF EXISTS research_bench_ingest WITH (FORCE)');
await admin('CREATE DATABASE research_bench_ingest');
spawnSync(process.execPath, [join(root, 'dist/apps/cli/src/main.js'), 'migrate'], { env, stdio: 'inherit' });
const api = spawn(process.execPath, [join(root, 'dist/apps/api/src/main.js')], {
  env,
  stdio: ['ignore', 'ignore', 'inherit'],
});
await waitForUrl(`${baseUrl}/health`);
await post(sampleDocument('en', 64 * 1024, 'Warm up.'));

console.log('\nThrough the api: POST /api/v1/documents wall time, and api CPU time');
console.log(
  `${'size'.padEnd(9)} ${'en wall'.padStart(9)} ${'en CPU'.padStart(9)} ${'zh wall'.padStart(9)} ${'zh CPU'.padStart(9)}`,
);
const english = documents('en');
const chinese = documents('zh');
for (const [index, bytes] of SIZES.entries()) {
  const row = [label(bytes)];
  for (const { text } of [english[index], chinese[index]]) {
    const before = await metrics();
    const started = performance.now();
    await post(text);
    const wall = performance.now() - started;
    const after = await metrics();
    row.push(ms(wall), ms((after.cpuSeconds - before.cpuSeconds) * 1000));
  }
  console.log(row.join(' '));
}

console.log('\nThe api while it ingests a maximum-size document');
for (const language of ['en', 'zh']) {
  const text = sampleDocument(language, MAX_BYTES, `Event loop ${language}.`);
  await metrics(); // reads and resets the event-loop histogram
  let done = false;
  const ingest = post(text).finally(() => (done = true));
  const health = [];
  while (!done) {
    const started = performance.now();
    await fetch(`${baseUrl}/health`);
    health.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await ingest;
  const window = await metrics();
  console.log(
    `${language}: event-loop delay p99 ${(window.lagP99 * 1000).toFixed(1)} ms, max ${(window.lagMax * 1000).toFixed(1)} ms; ` +
      `/health ${health.length} round trips, p99 ${percentile(health, 99).toFixed(1)} ms, max ${Math.max(...health).toFixed(1)} ms`,
  );
}

api.kill('SIGTERM');
await new Promise((resolve) => api.once('exit', resolve));
await admin('DROP DATABASE IF EXISTS research_bench_ingest WITH (FORCE)');

// How long the deep reader's choice of passages holds the worker's event loop, for texts of
// 100 KiB to 1 MiB in English and Chinese: on the event loop itself (choosePassages, as the reader
// did) against a text worker thread (TextProcessor.rankPassages through the worker pool, as it
// does now). The longest gap between the ticks of a 1 ms timer around each call is how long the
// event loop was held.
//
//   npm run build && node bench/rank-passages.mjs [rounds]
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { loadConfig } = require(join(root, 'dist/libs/config/src'));
const { choosePassages } = require(join(root, 'dist/libs/search/src/text/passages.js'));
const { WorkerPoolTextProcessor } = require(join(root, 'dist/libs/search/src/text/worker-pool-text-processor.js'));
const { sampleDocument } = require(join(root, 'dist/libs/testing/src/sample-documents.js'));

const rounds = Number(process.argv[2] ?? 3);
const config = loadConfig({});
const { passages } = config;
const input = (text) => ({
  text,
  questions: ['HBM supply 2024', 'who leads memory production'],
  limits: { size: passages.size, overlap: passages.overlap },
  budget: passages.readerTokens,
});
const pool = new WorkerPoolTextProcessor(config);
pool.onModuleInit();

/** Runs `work` while a 1 ms timer ticks: the longest gap between ticks is how long the loop was held. */
async function measure(work) {
  let last = performance.now();
  let maxGap = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const started = performance.now();
  await work();
  const wall = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 5));
  clearInterval(tick);
  return { wall, maxDelay: maxGap };
}

console.log(
  `PASSAGE_SIZE ${passages.size}, PASSAGE_OVERLAP ${passages.overlap}, READER_CONTEXT_TOKENS ${passages.readerTokens}`,
);
console.log(
  '| text | on the event loop: wall ms | its longest event-loop delay ms | in a worker thread: wall ms | its longest event-loop delay ms |',
);
console.log('|---|---|---|---|---|');
for (const language of ['en', 'zh']) {
  for (const kib of [100, 500, 1024]) {
    const text = sampleDocument(language, kib * 1024);
    const inline = [];
    const threaded = [];
    for (let i = 0; i < rounds; i += 1) {
      inline.push(
        await measure(async () => choosePassages(text, input(text).questions, input(text).limits, input(text).budget)),
      );
      threaded.push(await measure(() => pool.rankPassages(input(text))));
    }
    const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)].toFixed(0);
    console.log(
      `| ${language} ${kib} KiB | ${median(inline.map((m) => m.wall))} | ${median(inline.map((m) => m.maxDelay))} | ` +
        `${median(threaded.map((m) => m.wall))} | ${median(threaded.map((m) => m.maxDelay))} |`,
    );
  }
}
await pool.onApplicationShutdown();

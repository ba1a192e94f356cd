// What the deep engine delivers on a fixed set of questions over the example corpus, at depth 1
// and depth 2, with the fake OpenAI-compatible server of libs/testing playing two models:
//
// - careful: quotes verbatim, writes only what its findings say, judges each sentence by its quotes;
// - careless: also invents a quote in every reading, adds one sentence its findings do not support
//   to every section of the draft, and "rewrites" such a sentence by saying it again.
//
// For each research: sentences grounded (kept and supported) over the factual sentences written
// (all but the writer's marked synthesis), sentences marked, removed and rewritten, findings kept and dropped, LLM calls and tokens, and wall time
// against the time some LLM call of the research was in flight (the critical path of its calls).
//
//   npm run build && node bench/research-quality.mjs [latency-ms] [max-sources]
//
// Needs PostgreSQL and Redis on localhost. Creates and drops the database research_bench_quality.
// Researches run one at a time, so every LLM call belongs to the research in progress.
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

const latencyMs = Number(process.argv[2] ?? 100);
const maxSources = Number(process.argv[3] ?? 4);
const QUESTIONS = [
  { question: 'AI accelerator market share 2024', language: 'en' },
  { question: 'HBM memory supply shortage 2024', language: 'en' },
  { question: 'semiconductor supply chain advanced packaging', language: 'en' },
  { question: '2024年全球AI晶片市場分析', language: 'zh-TW' },
  { question: 'HBM 記憶體 2024 供應', language: 'zh-TW' },
  { question: '台積電 先進封裝 產能', language: 'zh-TW' },
];
const INVENTED = 'Shipments rose 900 percent in 2024 according to every analyst.';
const INVENTED_QUOTE = 'Every analyst agrees that shipments rose 900 percent in 2024.';

/** The careless model: the careful one with its faults, on every call of their stages. */
function careless(llm) {
  llm.inject(
    {
      transform: (reply) => ({
        findings: [...reply.findings, { quote: INVENTED_QUOTE, note: 'growth', sub_question: 0 }],
      }),
    },
    { schema: 'source_findings', times: Infinity },
  );
  llm.inject(
    {
      transform: (reply) => {
        for (const section of reply.sections) {
          section.sentences.push({ text: INVENTED, findings: section.sentences[0].findings.slice(0, 1) });
        }
        return reply;
      },
    },
    { schema: 'report_draft', times: Infinity },
  );
  llm.inject(
    {
      transform: (_reply, request) => ({
        sentences: [
          ...JSON.stringify(request.messages).matchAll(/<sentence id=\\"(\d+)\\"[^]*?finding=\\"(F\d+)\\"/g),
        ].map((m) => ({ sentence: Number(m[1]), text: INVENTED, findings: [m[2]] })),
      }),
    },
    { schema: 'sentence_revision', times: Infinity },
  );
}

/** Milliseconds some call was in flight: the union of the calls' intervals. */
function busy(calls) {
  const spans = calls.map((c) => [c.receivedAt, c.answeredAt ?? c.receivedAt]).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [start, stop] of spans) {
    if (stop <= end) continue;
    total += stop - Math.max(start, end);
    end = stop;
  }
  return total;
}

const llm = await FakeLlmServer.start({ models: ['qwen-72b'], latencyMs });
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  AUTH_DISABLED: 'true',
  RATE_LIMIT_ENABLED: 'false',
  DATABASE_URL: `${server}/research_bench_quality`,
  REDIS_URL: 'redis://127.0.0.1:6379/0',
  QUEUE_PREFIX: 'bench-quality',
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  PORT: '8120',
  WORKER_PORT: '8121',
  LLM_BASE_URL: llm.baseUrl,
  LLM_MAX_CONCURRENCY: '64',
  LLM_CACHE_TTL_SECONDS: '0',
  SEARCH_PROVIDERS: 'corpus',
};

await admin('DROP DATABASE IF EXISTS research_bench_quality WITH (FORCE)');
await admin('CREATE DATABASE research_bench_quality');
const cli = (...args) => spawnSync(process.execPath, [join(root, 'dist/apps/cli/src/main.js'), ...args], { env });
if (cli('migrate').status !== 0) throw new Error('migrate failed');
if (cli('ingest', join(root, 'examples/corpus')).status !== 0) throw new Error('ingest failed');
const api = spawn(process.execPath, [join(root, 'dist/apps/api/src/main.js')], { env, stdio: 'ignore' });
const worker = spawn(process.execPath, [join(root, 'dist/apps/worker/src/main.js')], { env, stdio: 'ignore' });
await waitForUrl('http://127.0.0.1:8120/health');
await waitForUrl('http://127.0.0.1:8121/health');

async function research(body) {
  const accepted = await fetch('http://127.0.0.1:8120/api/v1/research', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then((r) => r.json());
  for (;;) {
    const r = await fetch(`http://127.0.0.1:8120/api/v1/research/${accepted.research_id}`).then((res) => res.json());
    if (['completed', 'failed'].includes(r.status)) return r;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const rows = [];
for (const model of ['careful', 'careless']) {
  for (const depth of [1, 2]) {
    const sum = {
      researches: 0,
      failed: 0,
      written: 0,
      grounded: 0,
      synthesis: 0,
      marked: 0,
      removed: 0,
      rewritten: 0,
      invented: 0,
      findings: 0,
      dropped: 0,
      calls: 0,
      tokens: 0,
      wall: 0,
      busy: 0,
      rounds: 0,
      later: 0,
    };
    for (const { question, language } of QUESTIONS) {
      llm.reset();
      installResearchResponders(llm);
      if (model === 'careless') careless(llm);
      const r = await research({ question, language, depth, max_sources: maxSources });
      sum.researches += 1;
      if (r.status !== 'completed') {
        sum.failed += 1;
        continue;
      }
      const { result } = r;
      const claims = result.claims;
      sum.written += claims.length;
      sum.grounded += claims.filter((c) => c.kept && c.label === 'supported').length;
      sum.synthesis += claims.filter((c) => c.label === 'synthesis').length;
      sum.marked += result.stats.sentences_marked ?? 0;
      sum.removed += result.stats.sentences_removed ?? 0;
      sum.rewritten += result.stats.sentences_rewritten ?? 0;
      sum.invented += result.report.split(INVENTED).length - 1;
      sum.findings += result.findings.length;
      sum.dropped += result.stats.findings_dropped;
      sum.calls += result.usage.total.calls;
      sum.tokens += result.usage.total.prompt_tokens + result.usage.total.completion_tokens;
      sum.wall += Date.parse(r.finished_at) - Date.parse(r.started_at);
      sum.busy += busy(llm.calls);
      sum.rounds += result.rounds.length;
      sum.later += result.rounds.slice(1).reduce((total, round) => total + round.sources, 0);
    }
    const n = sum.researches - sum.failed;
    const row = {
      model,
      depth,
      researches: `${n}/${sum.researches}`,
      'rounds/research': (sum.rounds / n).toFixed(1),
      'sources found after round 1': sum.later,
      // Synthesis sentences state no fact of a source: they are marked as such, and not counted here.
      'grounded/factual sentences written': `${sum.grounded}/${sum.written - sum.synthesis} (${(
        (100 * sum.grounded) /
        (sum.written - sum.synthesis)
      ).toFixed(0)}%)`,
      synthesis: sum.synthesis,
      marked: sum.marked,
      removed: sum.removed,
      rewritten: sum.rewritten,
      'invented in reports': sum.invented,
      'findings kept': sum.findings,
      'findings dropped': sum.dropped,
      'calls/research': (sum.calls / n).toFixed(1),
      'tokens/research': Math.round(sum.tokens / n),
      'wall ms/research': Math.round(sum.wall / n),
      'LLM critical path ms': Math.round(sum.busy / n),
      'critical path in calls': (sum.busy / n / latencyMs).toFixed(1),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}

console.log(
  `\nLLM latency ${latencyMs} ms; ${QUESTIONS.length} questions over examples/corpus, max_sources ${maxSources}`,
);
const columns = Object.keys(rows[0]);
console.log(`| ${columns.join(' | ')} |`);
console.log(`|${columns.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${columns.map((c) => row[c]).join(' | ')} |`);

for (const child of [api, worker]) child.kill('SIGTERM');
await Promise.all([api, worker].map((child) => new Promise((resolve) => child.once('exit', resolve))));
await llm.stop();
const redis = new Redis(env.REDIS_URL);
const keys = await redis.keys('bench-quality:*');
if (keys.length > 0) await redis.del(...keys);
redis.disconnect();
await admin('DROP DATABASE IF EXISTS research_bench_quality WITH (FORCE)');

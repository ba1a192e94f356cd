// Where the api's answers spend their time: preloaded into the api (`--require`), it follows each
// HTTP request through its PostgreSQL statements and Redis commands, and when the api stops it
// prints, for the fastest half of the answers, those between p90 and p99 and those over p99, the
// mean time spent before the first statement, waiting for PostgreSQL, waiting for Redis, and in
// the rest (the api's own work, and waiting for the CPU), plus the GC pauses they overlapped.
//
//   BENCH_API_ENV="NODE_OPTIONS=--require $PWD/bench/request-phases.cjs" node bench/paced-api.mjs 165 10 2
//
// Requests of the first 9 s of the process (start and warm-up) are left out.
'use strict';
const { AsyncLocalStorage } = require('node:async_hooks');
const diagnostics = require('node:diagnostics_channel');
const Module = require('node:module');
const { PerformanceObserver, performance } = require('node:perf_hooks');

const current = new AsyncLocalStorage();
const finished = [];
const pauses = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) pauses.push([entry.startTime, entry.startTime + entry.duration]);
}).observe({ entryTypes: ['gc'] });

diagnostics.subscribe('http.server.request.start', ({ request }) => {
  const trace = { start: performance.now(), waits: [] };
  request.phasesTrace = trace;
  current.enterWith(trace);
});
diagnostics.subscribe('http.server.response.finish', ({ request }) => {
  const trace = request.phasesTrace;
  if (!trace) return;
  trace.end = performance.now();
  if (trace.start > 9000) finished.push(trace);
});

/** Records the time between a call and the settling of what it returns, on the current request. */
function timed(kind, promise) {
  const trace = current.getStore();
  if (!trace || !promise || typeof promise.then !== 'function') return;
  const from = performance.now();
  promise.then(
    () => trace.waits.push([kind, from, performance.now()]),
    () => trace.waits.push([kind, from, performance.now()]),
  );
}

const load = Module._load;
const patched = new Set();
Module._load = function (request) {
  const loaded = load.apply(this, arguments);
  if (request === 'pg' && !patched.has('pg') && loaded.Client) {
    patched.add('pg');
    const query = loaded.Client.prototype.query;
    loaded.Client.prototype.query = function () {
      const result = query.apply(this, arguments);
      const config = arguments[0];
      // A batch (libs/database/src/statement-batch.ts) answers through its callback.
      if (config && typeof config.submit === 'function' && config.callback) {
        const trace = current.getStore();
        const from = performance.now();
        const callback = config.callback;
        config.callback = (...args) => {
          if (trace) trace.waits.push(['postgres', from, performance.now()]);
          return callback(...args);
        };
      } else timed('postgres', result);
      return result;
    };
  }
  if (request === 'ioredis' && !patched.has('ioredis') && loaded.prototype?.sendCommand) {
    patched.add('ioredis');
    const sendCommand = loaded.prototype.sendCommand;
    loaded.prototype.sendCommand = function (command) {
      const result = sendCommand.apply(this, arguments);
      timed('redis', command?.promise);
      return result;
    };
  }
  return loaded;
};

function report() {
  const rows = finished.map(({ start, end, waits }) => {
    const inside = waits.filter(([, from]) => from < end);
    const sum = (kind) =>
      inside.filter(([k]) => k === kind).reduce((total, [, from, to]) => total + Math.min(to, end) - from, 0);
    const firstStatement = Math.min(end, ...inside.filter(([k]) => k === 'postgres').map(([, from]) => from));
    const postgres = sum('postgres');
    const redis = sum('redis');
    const total = end - start;
    const gc = pauses.reduce((all, [from, to]) => all + Math.max(0, Math.min(to, end) - Math.max(from, start)), 0);
    return {
      total,
      before: firstStatement - start,
      postgres,
      redis,
      rest: total - (firstStatement - start) - postgres - redis,
      gc,
    };
  });
  if (rows.length < 100) return;
  rows.sort((a, b) => a.total - b.total);
  const at = (q) => rows[Math.floor(q * rows.length)].total;
  const groups = [
    ['fastest half', rows.slice(0, rows.length / 2)],
    ['p90 to p99', rows.filter((r) => r.total >= at(0.9) && r.total < at(0.99))],
    ['over p99', rows.filter((r) => r.total >= at(0.99))],
  ];
  const mean = (group, field) =>
    (group.reduce((all, row) => all + row[field], 0) / group.length).toFixed(2).padStart(13);
  const lines = [
    `${rows.length} answers: p50 ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms`,
  ];
  lines.push(`${'mean ms'.padEnd(28)}${groups.map(([name]) => name.padStart(13)).join('')}`);
  for (const [label, field] of [
    ['before the first statement', 'before'],
    ['waiting for PostgreSQL', 'postgres'],
    ['waiting for Redis', 'redis'],
    ['the rest', 'rest'],
    ['GC pauses overlapped', 'gc'],
    ['total', 'total'],
  ]) {
    lines.push(`${label.padEnd(28)}${groups.map(([, group]) => mean(group, field)).join('')}`);
  }
  lines.push(`${'answers'.padEnd(28)}${groups.map(([, group]) => String(group.length).padStart(13)).join('')}`);
  process.stderr.write(`${lines.join('\n')}\n`);
}
process.once('SIGTERM', report);

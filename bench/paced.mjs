// Requests sent at a steady rate, one every 1/rate seconds whatever the answers (open loop), with
// each latency counted from when its request was due, not from when it could be sent: a server
// that stalls is charged for the requests queued behind the stall. autocannon's `overallRate`
// sends each second's requests in a burst, which measures the burst's queue instead.
//
// Answers the same fields bench/cpu.mjs and the reports read from autocannon's results, and
// `stalls`: the moments (wall-clock ISO times) when answers took longer than `slowMs`, requests
// less than 100 ms apart grouped into one, each with how many and the worst latency: to set
// against PostgreSQL's log (checkpoints, autovacuum) and the api's GC.
// `latencies` holds every answer's latency in ms, sorted, to pool rounds (bench/post-research.mjs);
// `answers` every answer as [when it was due (ms, wall clock), latency (ms)], in the order they came.
import { request, Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export async function paced({ url, method = 'GET', headers = {}, body, rate, seconds, slowMs = 40 }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const latencies = [];
  const answers = [];
  const slow = [];
  // performance.now() is monotonic; its origin on the wall clock turns a due time into a time of day.
  const origin = Date.now() - performance.now();
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const send = (due) =>
    new Promise((resolve) => {
      const req = request(url, { method, headers, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          const latency = performance.now() - due;
          latencies.push(latency);
          answers.push([origin + due, latency]);
          if (latency > slowMs) slow.push({ at: origin + due, ms: latency });
          if (res.statusCode >= 200 && res.statusCode < 300) ok += 1;
          else non2xx += 1;
          resolve();
        });
      });
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(body);
    });
  const interval = 1000 / rate;
  const start = performance.now();
  const sent = [];
  for (let i = 0; i < Math.round(rate * seconds); i += 1) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait);
    sent.push(send(due));
  }
  await Promise.all(sent);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN);
  return {
    '2xx': ok,
    non2xx,
    errors,
    latency: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: Math.round(latencies.at(-1) ?? NaN) },
    stalls: stallsOf(slow),
    latencies,
    answers,
  };
}

function stallsOf(slow) {
  const stalls = [];
  for (const { at, ms } of slow.sort((a, b) => a.at - b.at)) {
    const last = stalls.at(-1);
    if (last && at - last.until < 100) {
      last.requests += 1;
      last.worst = Math.max(last.worst, ms);
      last.until = at;
    } else {
      stalls.push({ from: at, until: at, requests: 1, worst: ms });
    }
  }
  return stalls.map(({ from, requests, worst }) => ({
    at: new Date(from).toISOString(),
    requests,
    worst: Math.round(worst),
  }));
}

/** The chapter's research request, as the POST benches submit it. */
export const SEED_RESEARCH = JSON.stringify({
  question: '2024年全球AI晶片市場分析',
  max_sources: 10,
  verify: true,
  language: 'zh-TW',
});

/** POST /api/v1/research of SEED_RESEARCH to the server on `port`, paced, with the key `apiKey`. */
export function pacedSubmissions({ port, apiKey, rate, seconds }) {
  return paced({
    url: `http://127.0.0.1:${port}/api/v1/research`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: SEED_RESEARCH,
    rate,
    seconds,
  });
}

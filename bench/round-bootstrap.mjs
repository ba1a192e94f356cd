// How far a pooled p99 ratio can be trusted. Rounds on a shared machine differ far more than the
// answers within one: one stall of PostgreSQL, of the load generator or of a server's garbage
// collector moves a round's tail, and a run of ten rounds per server holds only a few such
// stalls. Resampling the rounds (round r of each server, loaded one after the other, stays
// paired) gives the spread the same servers would show over other runs like this one: a 90%
// interval of the ratio of one server's p99 to the baseline's, all of a sample's rounds pooled.

/** The `q` quantile of sorted numbers. */
export const quantileOf = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** The p99 of the answers of the rounds `picks` (round indices, repeats allowed). */
function pooledP99(rounds, picks) {
  const pooled = new Float64Array(picks.reduce((sum, i) => sum + rounds[i].length, 0));
  let at = 0;
  for (const i of picks) {
    pooled.set(rounds[i], at);
    at += rounds[i].length;
  }
  return quantileOf(pooled.sort(), 0.99);
}

/**
 * The 5th and 95th percentiles of p99(server) / p99(baseline) over `samples` resamplings of the
 * rounds; `baseline` and `server` hold each round's latencies, in the same round order.
 */
export function p99RatioInterval(baseline, server, samples = 1000) {
  const count = Math.min(baseline.length, server.length);
  const ratios = new Float64Array(samples);
  for (let s = 0; s < samples; s += 1) {
    const picks = Array.from({ length: count }, () => Math.floor(Math.random() * count));
    ratios[s] = pooledP99(server, picks) / pooledP99(baseline, picks);
  }
  ratios.sort();
  return [quantileOf(ratios, 0.05), quantileOf(ratios, 0.95)];
}

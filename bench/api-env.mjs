// BENCH_API_ENV=NAME=value,... : configuration for the current api only, to measure what one
// feature costs against the same build with it on (BENCH_OTHER_API=dist/apps/api/src/main.js),
// for example RATE_LIMIT_ENABLED=false or AUDIT_READS=false.
export function benchApiEnv() {
  return Object.fromEntries(
    (process.env.BENCH_API_ENV ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import {
  REPO_ROOT,
  alertRuleFiles,
  dashboardFiles,
  metricNamesInMonitoring,
  metricNamesInPromQL,
  monitoringQueries,
} from './support/monitoring-files';

/** The PromQL queries of the deployment chapter, as it writes them. */
const CHAPTER_QUERIES = [
  'rate(research_requests_total[5m])',
  'histogram_quantile(0.95, rate(research_request_duration_seconds_bucket[5m]))',
  'sum(rate(research_requests_total{status="error"}[5m])) / sum(rate(research_requests_total[5m]))',
  'research_active_requests',
  'rate(llm_tokens_total[1h])',
];

function catalogueNames(): Set<string> {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'metrics.md'), 'utf8');
  return new Set([...doc.matchAll(/^\| `([a-z_:][a-z0-9_:]*)` \|/gm)].map((match) => match[1]));
}

async function promClientDefaultNames(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
}

describe('metricNamesInPromQL', () => {
  it.each([
    ['rate(research_requests_total[5m])', ['research_requests_total']],
    [
      'histogram_quantile(0.95, rate(research_request_duration_seconds_bucket[5m]))',
      ['research_request_duration_seconds_bucket'],
    ],
    [
      'sum(rate(research_requests_total{status="error"}[5m])) / sum(rate(research_requests_total[5m]))',
      ['research_requests_total'],
    ],
    ['research_active_requests', ['research_active_requests']],
    ['rate(llm_tokens_total[1h])', ['llm_tokens_total']],
    [
      'histogram_quantile(0.95, sum by (le, endpoint) (rate(research_request_duration_seconds_bucket[5m])))',
      ['research_request_duration_seconds_bucket'],
    ],
    ['sum(rate(research_run_duration_seconds_sum[5m])) without (instance, job)', ['research_run_duration_seconds_sum']],
    [
      'llm_calls_total{model=~"qwen.*",status!="a}b[c](d)"} / on (model) group_left (service) research_cache_size',
      ['llm_calls_total', 'research_cache_size'],
    ],
    ['a_total * on() group_left b_total', ['a_total', 'b_total']],
    ['count without(job)(y_total) + topk BY (model) (3, z_total)', ['y_total', 'z_total']],
    ['max_over_time(research_queue_jobs{state="waiting"}[1h:5m] offset -30m) > bool 1e3', ['research_queue_jobs']],
    ['up == 0 and ON(job) absent(nodejs_heap_size_used_bytes @ start())', ['up', 'nodejs_heap_size_used_bytes']],
    ['label_replace(process_open_fds, "dst", "$1", "src", "(.*)") > Inf', ['process_open_fds']],
    ['{__name__="nodejs_gc_duration_seconds_count", kind="major"}', ['nodejs_gc_duration_seconds_count']],
    ['rate(recorded:series:rate5m[$__rate_interval]) > ${threshold} # llm_calls_total', ['recorded:series:rate5m']],
    ['vector(1) + scalar(time()) - .5', []],
  ])('%s', (expr, names) => {
    expect(metricNamesInPromQL(expr)).toEqual(names);
  });

  it('refuses a __name__ regex it cannot resolve', () => {
    expect(() => metricNamesInPromQL('{__name__=~"research_.*"}')).toThrow(/cannot tell which metrics/);
  });
});

describe('metric names in the alert rules and dashboards', () => {
  const references = metricNamesInMonitoring();
  const namesIn = (file: string) => references.filter((ref) => ref.file === file).map((ref) => ref.metric);

  it('reads every alert rule file and dashboard, and finds metrics in each', () => {
    const files = [...alertRuleFiles(), ...dashboardFiles()];
    expect(files).toEqual([
      'monitoring/alerts/research.rules.yml',
      'monitoring/grafana/dashboards/api-performance.json',
      'monitoring/grafana/dashboards/llm-usage.json',
      'monitoring/grafana/dashboards/research-tasks.json',
      'monitoring/grafana/dashboards/system-resources.json',
    ]);
    for (const file of files) expect(namesIn(file).length).toBeGreaterThan(0);
  });

  it("has the chapter's queries on the dashboards, and finds their metrics", () => {
    const dashboardExprs = monitoringQueries()
      .filter((query) => query.file.endsWith('.json'))
      .map((query) => query.expr.replace(/\s+/g, ' ').trim());
    for (const query of CHAPTER_QUERIES) expect(dashboardExprs).toContain(query);

    expect(namesIn('monitoring/grafana/dashboards/api-performance.json')).toEqual(
      expect.arrayContaining([
        'research_requests_total',
        'research_request_duration_seconds',
        'research_active_requests',
      ]),
    );
    expect(namesIn('monitoring/grafana/dashboards/llm-usage.json')).toContain('llm_tokens_total');
  });

  it('maps histogram series to the histogram and leaves out the exporters and `up`', () => {
    const all = new Set(references.map((ref) => ref.metric));
    expect(all).toContain('research_request_duration_seconds');
    expect(all).toContain('nodejs_gc_duration_seconds');
    for (const metric of all) {
      expect(metric).not.toMatch(/_(bucket|sum|count)$/);
      expect(metric).not.toMatch(/^(up|redis_.*|pg_.*)$/);
    }
    const systemExprs = monitoringQueries()
      .filter((query) => query.file.endsWith('system-resources.json'))
      .map((query) => query.expr);
    expect(systemExprs).toEqual(expect.arrayContaining(['up', 'redis_up', 'pg_up']));
  });

  it('covers each alert topic in the rules', () => {
    expect(namesIn('monitoring/alerts/research.rules.yml')).toEqual([
      'llm_calls_total',
      'llm_circuit_open',
      'llm_outage_seconds',
      'llm_tokens_total',
      'research_queue_jobs',
      'research_request_duration_seconds',
      'research_requests_total',
      'research_runs_total',
      'research_webhook_deliveries_total',
    ]);
  });

  it('shows every metric of docs/metrics.md on a dashboard', () => {
    const onDashboards = new Set(references.filter((ref) => ref.file.endsWith('.json')).map((ref) => ref.metric));
    expect([...catalogueNames()].filter((name) => !onDashboards.has(name))).toEqual([]);
  });

  it('uses only metrics of docs/metrics.md and the prom-client defaults', async () => {
    const known = new Set([...catalogueNames(), ...(await promClientDefaultNames())]);
    // The catalogue itself must have been read, or this test would pass on nothing.
    expect(known).toContain('research_queue_jobs');
    expect(known).toContain('nodejs_eventloop_lag_p99_seconds');
    const unknown = references.filter((ref) => !known.has(ref.metric));
    expect(unknown).toEqual([]);
  });
});

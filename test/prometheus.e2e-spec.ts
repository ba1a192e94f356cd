import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeLlmServer, TestStack, freePort, installResearchResponders, sleep, waitFor } from '@app/testing';

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
if (!hasPrometheus) {
  process.stderr.write(
    'prometheus is not installed: the PromQL suite is skipped (Debian: apt-get install prometheus; CI installs it)\n',
  );
}
const describeWithPrometheus = hasPrometheus ? describe : describe.skip;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * A real Prometheus scrapes the api and the worker while they serve traffic; the queries of the
 * deployment chapter must return data, and the alert rules must evaluate without errors.
 */
describeWithPrometheus('the chapter PromQL queries against a real Prometheus', () => {
  let stack: TestStack;
  let llm: FakeLlmServer;
  let prometheus: ChildProcess | undefined;
  let prometheusUrl: string;
  let dir: string;

  beforeAll(async () => {
    // The deep engine runs, so that LLM calls and tokens are counted too.
    llm = await FakeLlmServer.start({ models: ['qwen-72b'] });
    installResearchResponders(llm);
    stack = await TestStack.create({ label: 'promql', env: { LLM_BASE_URL: llm.baseUrl } });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    await stack.startApi();
    const worker = await stack.startWorker();
    const workerPort = worker.lines.find((l) => l.message === 'worker started')?.port as number;

    dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${join(__dirname, '..', 'monitoring', 'alerts', 'research.rules.yml')}`,
        'scrape_configs:',
        '  - job_name: api',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${stack.apiPort}']`,
        '  - job_name: worker',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${workerPort}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      'both targets to be up',
      async () => {
        const up = await query('up');
        return up.length === 2 && up.every((sample) => sample.value[1] === '1');
      },
      30000,
      250,
    );

    // Traffic across several scrapes, so that rates and quantiles have data points.
    const deadline = Date.now() + 6000;
    const ids: string[] = [];
    while (Date.now() < deadline) {
      // A new question each time: a repeated one would be answered from the LLM cache.
      ids.push(await stack.submit({ question: `AI chip supply 2024, part ${ids.length + 1}` }));
      await stack.http.request('POST', '/api/v1/research', {
        raw: '{"question":',
        headers: { 'content-type': 'application/json' },
      });
      await stack.http.get('/api/v1/research?limit=5');
      await sleep(150);
    }
    for (const id of ids) await stack.waitForStatus(id, ['completed']);
    await sleep(2500);
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await new Promise((resolve) => prometheus!.once('exit', resolve));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await stack?.teardown();
    await llm?.stop();
  });

  async function query(promql: string): Promise<Sample[]> {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      data: { resultType: string; result: Sample[] };
      error?: string;
    };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result;
  }

  const numbers = (samples: Sample[]) => samples.map((sample) => Number(sample.value[1]));

  it('request rate: rate(research_requests_total[5m])', async () => {
    const samples = await query('rate(research_requests_total[5m])');
    const endpoints = samples
      .filter((s) => Number(s.value[1]) > 0)
      .map((s) => `${s.metric.method} ${s.metric.endpoint} ${s.metric.status}`);
    expect(endpoints).toEqual(
      expect.arrayContaining([
        'POST /api/v1/research success',
        'POST /api/v1/research error',
        'GET /api/v1/research success',
      ]),
    );
  });

  it('p95 latency: histogram_quantile(0.95, rate(research_request_duration_seconds_bucket[5m]))', async () => {
    const samples = await query('histogram_quantile(0.95, rate(research_request_duration_seconds_bucket[5m]))');
    const post = samples.find((s) => s.metric.method === 'POST' && s.metric.endpoint === '/api/v1/research');
    expect(post).toBeDefined();
    const p95 = Number(post?.value[1]);
    expect(p95).toBeGreaterThan(0);
    expect(p95).toBeLessThan(10);
  });

  it('error ratio: sum(rate(...{status="error"}[5m])) / sum(rate(...[5m]))', async () => {
    const samples = await query(
      'sum(rate(research_requests_total{status="error"}[5m])) / sum(rate(research_requests_total[5m]))',
    );
    expect(samples).toHaveLength(1);
    const ratio = numbers(samples)[0]!;
    // One malformed request for each accepted one and each list: about a third are errors.
    expect(ratio).toBeGreaterThan(0.2);
    expect(ratio).toBeLessThan(0.5);
  });

  it('active requests: research_active_requests', async () => {
    const samples = await query('research_active_requests');
    expect(samples.map((s) => s.metric.job)).toEqual(['api']);
    expect(numbers(samples)[0]).toBeGreaterThanOrEqual(0);
  });

  it('LLM token use: rate(llm_tokens_total[1h])', async () => {
    const samples = await query('rate(llm_tokens_total[1h])');
    const byType = Object.fromEntries(samples.map((s) => [`${s.metric.model}/${s.metric.type}`, Number(s.value[1])]));
    expect(Object.keys(byType).sort()).toEqual(['qwen-72b/completion', 'qwen-72b/prompt']);
    expect(byType['qwen-72b/prompt']).toBeGreaterThan(0);
    expect(byType['qwen-72b/completion']).toBeGreaterThan(0);
    const calls = await query('sum by (status) (increase(llm_calls_total[5m]))');
    expect(calls.map((s) => s.metric.status)).toEqual(['success']);
  });

  it('research runs and queue depth from the worker', async () => {
    const runs = await query('sum by (engine, outcome) (increase(research_runs_total[5m]))');
    expect(runs.find((s) => s.metric.outcome === 'completed' && s.metric.engine === 'deep')).toBeDefined();
    const queue = await query('max by (state) (research_queue_jobs)');
    expect(queue.map((s) => s.metric.state).sort()).toEqual(['active', 'delayed', 'failed', 'waiting']);
  });

  it('evaluates every alert rule without error, and none fires on healthy traffic', async () => {
    const response = await fetch(`${prometheusUrl}/api/v1/rules`);
    const body = (await response.json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string; state?: string }[] }[] };
    };
    const rules = body.data.groups.flatMap((group) => group.rules);
    expect(rules.length).toBeGreaterThan(5);
    for (const rule of rules)
      expect({ name: rule.name, health: rule.health, lastError: rule.lastError ?? '' }).toEqual({
        name: rule.name,
        health: 'ok',
        lastError: '',
      });
    expect(rules.filter((rule) => rule.state === 'firing').map((rule) => rule.name)).toEqual([]);
  });
});

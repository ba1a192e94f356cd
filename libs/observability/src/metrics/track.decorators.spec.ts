import { Counter, Histogram, register } from 'prom-client';
import { Metric, WORKER_METRICS } from './metric-definitions';
import { TrackLlmCall, TrackResearchTask } from './track.decorators';

/** The decorators find their metrics in prom-client's registry, where the module registers them. */
function registerWorkerMetrics(): void {
  register.clear();
  for (const provider of WORKER_METRICS) {
    const factory = (provider as { useFactory: (...args: unknown[]) => unknown }).useFactory;
    factory(undefined);
  }
}

async function value(name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await register.getSingleMetric(name)?.get()) as {
    values: { labels: Record<string, unknown>; value: number; metricName?: string }[];
  };
  return metric.values
    .filter((v) => (v.metricName ?? name) === name || v.metricName === undefined)
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

class Agents {
  @TrackResearchTask('planner')
  async plan(fail: boolean): Promise<string> {
    if (fail) throw new Error('no plan');
    return 'plan';
  }

  @TrackResearchTask('reader')
  async stop(): Promise<void> {
    const error = new Error('stopped');
    error.name = 'ResearchStoppedError';
    throw error;
  }

  @TrackLlmCall('qwen-72b')
  async complete(
    tokens: number,
  ): Promise<{ text: string; usage: { prompt_tokens: number; completion_tokens: number } }> {
    return { text: 'ok', usage: { prompt_tokens: tokens, completion_tokens: tokens / 2 } };
  }

  @TrackLlmCall((model: unknown) => String(model))
  async failing(_model: string): Promise<never> {
    throw new Error('503 from the model server');
  }
}

describe('tracking decorators', () => {
  beforeEach(registerWorkerMetrics);
  afterAll(() => register.clear());

  it('counts and times agent steps by outcome, keeping results and errors', async () => {
    const agents = new Agents();
    await expect(agents.plan(false)).resolves.toBe('plan');
    await expect(agents.plan(true)).rejects.toThrow('no plan');
    await expect(agents.stop()).rejects.toThrow('stopped');

    expect(await value(Metric.Tasks, { agent: 'planner', outcome: 'success' })).toBe(1);
    expect(await value(Metric.Tasks, { agent: 'planner', outcome: 'error' })).toBe(1);
    expect(await value(Metric.Tasks, { agent: 'reader', outcome: 'stopped' })).toBe(1);
    const histogram = register.getSingleMetric(Metric.TaskDuration) as Histogram<string>;
    const counts = (await histogram.get()).values.filter((v) => v.metricName === `${Metric.TaskDuration}_count`);
    expect(counts.map((v) => `${String(v.labels.agent)}:${String(v.labels.outcome)}=${v.value}`).sort()).toEqual([
      'planner:error=1',
      'planner:success=1',
      'reader:stopped=1',
    ]);
  });

  it('counts LLM calls by model and status, times them, and adds the tokens of the usage', async () => {
    const agents = new Agents();
    await agents.complete(100);
    await agents.complete(40);
    await expect(agents.failing('gpt-4o-mini')).rejects.toThrow('503');

    expect(await value(Metric.LlmCalls, { model: 'qwen-72b', status: 'success' })).toBe(2);
    expect(await value(Metric.LlmCalls, { model: 'gpt-4o-mini', status: 'error' })).toBe(1);
    expect(await value(Metric.LlmTokens, { model: 'qwen-72b', type: 'prompt' })).toBe(140);
    expect(await value(Metric.LlmTokens, { model: 'qwen-72b', type: 'completion' })).toBe(70);
    const counter = register.getSingleMetric(Metric.LlmCalls) as Counter<string>;
    expect((await counter.get()).values).toHaveLength(2);
  });
});

import { StructuredResponse } from '@app/llm';
import { BudgetExhaustedError, BudgetTracker } from './budget';

const limits = { tokens: 10_000, costUsd: 1, llmCalls: 10, seconds: 60 };

function response(prompt: number, completion: number, cost = 0): StructuredResponse<unknown> {
  return {
    value: {},
    model: 'm',
    usage: { promptTokens: prompt, completionTokens: completion },
    calls: 1,
    repaired: false,
    costUsd: cost,
    durationMs: 5,
  };
}

describe('BudgetTracker', () => {
  it('keeps a ledger per stage and in total', async () => {
    const budget = new BudgetTracker(limits, new Date());
    await budget.spend('planner', 1, async () => response(100, 50, 0.01));
    await budget.spend('reader', 1, async () => response(300, 100, 0.02));
    await budget.spend('reader', 1, async () => response(200, 100, 0.02));
    const usage = budget.usage();
    expect(usage.stages.reader).toEqual({
      calls: 2,
      prompt_tokens: 500,
      completion_tokens: 200,
      cost_usd: 0.04,
      duration_ms: 10,
    });
    expect(usage.total).toEqual({
      calls: 3,
      prompt_tokens: 600,
      completion_tokens: 250,
      cost_usd: 0.05,
      duration_ms: 15,
    });
    expect(usage.budget).toEqual({
      limits: { tokens: 10000, cost_usd: 1, llm_calls: 10, seconds: 60 },
      exhausted: null,
    });
  });

  it('refuses a call once a share of a limit is spent, counting calls in flight', async () => {
    const budget = new BudgetTracker(limits, new Date());
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const calls = Array.from({ length: 8 }, () =>
      budget.spend('reader', 0.5, async () => {
        await blocked;
        return response(10, 10);
      }),
    );
    release();
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refused.every((o) => o.reason instanceof BudgetExhaustedError && o.reason.budget === 'llm_calls')).toBe(
      true,
    );
    expect(budget.exhausted).toBe('llm_calls');
  });

  it('runs out of tokens, cost and time', async () => {
    const tokens = new BudgetTracker(limits, new Date());
    await tokens.spend('writer', 1, async () => response(9000, 1000));
    expect(() => tokens.ensure()).toThrow('the tokens budget of the research is used up');
    expect(tokens.remainingTokens()).toBe(0);

    const cost = new BudgetTracker(limits, new Date());
    await cost.spend('writer', 1, async () => response(10, 10, 1.5));
    expect(() => cost.ensure()).toThrow(BudgetExhaustedError);
    expect(cost.exhausted).toBe('cost');

    let now = 1_000_000;
    const time = new BudgetTracker(limits, new Date(now), new Map(), () => now);
    expect(time.remainingMs()).toBe(60_000);
    now += 61_000;
    expect(() => time.ensure()).toThrow(BudgetExhaustedError);
    expect(time.exhausted).toBe('time');
  });

  it('starts from the usage of completed steps when a research resumes', () => {
    const steps = new Map([
      [
        'plan',
        {
          data: {},
          usage: { stage: 'planner', calls: 1, prompt_tokens: 100, completion_tokens: 20, cost_usd: 0, duration_ms: 3 },
        },
      ],
      [
        'read:1',
        {
          data: {},
          usage: { stage: 'reader', calls: 2, prompt_tokens: 400, completion_tokens: 80, cost_usd: 0, duration_ms: 9 },
        },
      ],
      ['search', { data: {}, usage: {} }],
    ]);
    const budget = new BudgetTracker(limits, new Date(), steps);
    expect(budget.usage().total).toEqual({
      calls: 3,
      prompt_tokens: 500,
      completion_tokens: 100,
      cost_usd: 0,
      duration_ms: 12,
    });
    expect(Object.keys(budget.usage().stages).sort()).toEqual(['planner', 'reader']);
  });
});

import { LlmSpending } from '@app/llm';
import { BudgetExhaustedError, BudgetTracker } from './budget';

const limits = { tokens: 10_000, costUsd: 1, llmCalls: 10, seconds: 60 };

/** One HTTP call as the LLM client reports it into the caller's spending. */
function spent(spending: LlmSpending, prompt: number, completion: number, cost = 0, outcome = 'success'): void {
  spending.calls += 1;
  spending.promptTokens += prompt;
  spending.completionTokens += completion;
  spending.costUsd += cost;
  spending.outcomes[outcome] = (spending.outcomes[outcome] ?? 0) + 1;
}

/** A completion of one successful call. */
function response(prompt: number, completion: number, cost = 0) {
  return async (spending: LlmSpending) => {
    spent(spending, prompt, completion, cost);
    return {};
  };
}

/** A clock that moves 5 ms each time it is read: every completion takes 5 ms. */
function ticking(): () => number {
  let now = 1_000_000;
  return () => (now += 5);
}

describe('BudgetTracker', () => {
  it('keeps a ledger per stage and in total', async () => {
    const budget = new BudgetTracker(limits, new Date(1_000_000), new Map(), ticking());
    await budget.spend('planner', 1, response(100, 50, 0.01));
    await budget.spend('reader', 1, response(300, 100, 0.02));
    await budget.spend('reader', 1, response(200, 100, 0.02));
    const usage = budget.usage();
    expect(usage.stages.reader).toEqual({
      calls: 2,
      prompt_tokens: 500,
      completion_tokens: 200,
      cost_usd: 0.04,
      duration_ms: 10,
      outcomes: { success: 2 },
    });
    expect(usage.total).toEqual({
      calls: 3,
      prompt_tokens: 600,
      completion_tokens: 250,
      cost_usd: 0.05,
      duration_ms: 15,
      outcomes: { success: 3 },
    });
    expect(usage.budget).toEqual({
      limits: { tokens: 10000, cost_usd: 1, llm_calls: 10, seconds: 60 },
      exhausted: null,
      cost_enforced: true,
    });
  });

  it('counts the calls of a completion that fails, with how each ended, against the limits', async () => {
    const budget = new BudgetTracker(limits, new Date(1_000_000), new Map(), ticking());
    const failing = budget.spend('writer', 1, async (spending) => {
      spent(spending, 0, 0, 0, 'rate_limited');
      spent(spending, 0, 0, 0, 'timeout');
      spent(spending, 0, 0, 0, 'server_error');
      throw new Error('unavailable after 3 attempts');
    });
    await expect(failing).rejects.toThrow('unavailable after 3 attempts');
    expect(budget.usage().stages.writer).toEqual({
      calls: 3,
      prompt_tokens: 0,
      completion_tokens: 0,
      cost_usd: 0,
      duration_ms: 5,
      outcomes: { rate_limited: 1, timeout: 1, server_error: 1 },
    });
    expect(budget.usage().total.calls).toBe(3);
    // Counted against the limit too: 9 of 10 calls is over a share of 0.85.
    for (let i = 0; i < 6; i += 1) await budget.spend('reader', 1, response(1, 1));
    expect(() => budget.ensure(0.85)).toThrow(BudgetExhaustedError);
  });

  it('refuses a call once a share of a limit is spent, counting calls in flight', async () => {
    const budget = new BudgetTracker(limits, new Date());
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const calls = Array.from({ length: 8 }, () =>
      budget.spend('reader', 0.5, async (spending) => {
        await blocked;
        return response(10, 10)(spending);
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
    await tokens.spend('writer', 1, response(9000, 1000));
    expect(() => tokens.ensure()).toThrow('the tokens budget of the research is used up');
    expect(tokens.remainingTokens()).toBe(0);

    const cost = new BudgetTracker(limits, new Date());
    await cost.spend('writer', 1, response(10, 10, 1.5));
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
      outcomes: {},
    });
    expect(Object.keys(budget.usage().stages).sort()).toEqual(['planner', 'reader']);
  });
});

describe('BudgetTracker, what outlives a run', () => {
  const limits = { tokens: 10_000, costUsd: 1, llmCalls: 10, seconds: 60 };
  const spent = (calls: number, outcome: string) => ({
    calls,
    prompt_tokens: 10 * calls,
    completion_tokens: calls,
    cost_usd: 0,
    duration_ms: 5,
    outcomes: { [outcome]: calls },
  });

  it('tells the spending no checkpoint stored, and counts it again when a later run restores it', () => {
    const tracker = new BudgetTracker(limits, new Date());
    tracker.record('reader', spent(3, 'success'));
    tracker.markStored('reader', spent(3, 'success'));
    tracker.record('reader', spent(2, 'rejected'));
    tracker.record('writer', spent(1, 'timeout'));
    expect(tracker.unstored()).toEqual([
      ['reader', spent(2, 'rejected')],
      ['writer', spent(1, 'timeout')],
    ]);

    const steps = new Map([
      ['read:1', { data: {}, usage: { stage: 'reader', ...spent(3, 'success') } }],
      ['spent:1:reader', { data: null, usage: { stage: 'reader', ...spent(2, 'rejected') } }],
      ['search', { data: {}, usage: { tools: { search: { calls: 4, failed: 1 }, fetch: { calls: 2, failed: 0 } } } }],
    ]);
    const next = new BudgetTracker(limits, new Date(), steps, Date.now, false);
    const usage = next.usage();
    expect(usage.stages.reader).toMatchObject({ calls: 5, outcomes: { success: 3, rejected: 2 } });
    expect(usage.search).toEqual({ calls: 4, failed: 1 });
    expect(usage.fetch).toEqual({ calls: 2, failed: 0 });
    expect(usage.budget.cost_enforced).toBe(false);
    // What was restored is stored already.
    expect(next.unstored()).toEqual([]);
  });
});

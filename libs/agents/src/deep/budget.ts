import { DomainError, ErrorCode } from '@app/common';
import { LlmSpending, noSpending } from '@app/llm';
import { CompletedStep, ResearchBudget, ResearchUsage, ToolUsage, UsageEntry } from '@app/research';

export type BudgetKind = 'tokens' | 'cost' | 'llm_calls' | 'time';

export class BudgetExhaustedError extends DomainError {
  constructor(readonly budget: BudgetKind) {
    super(ErrorCode.BudgetExhausted, `the ${budget} budget of the research is used up`, { budget });
    this.name = 'BudgetExhaustedError';
  }
}

export function emptyUsage(): UsageEntry {
  return { calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, duration_ms: 0, outcomes: {} };
}

export function addUsage(into: UsageEntry, more: Partial<UsageEntry>): UsageEntry {
  into.calls += more.calls ?? 0;
  into.prompt_tokens += more.prompt_tokens ?? 0;
  into.completion_tokens += more.completion_tokens ?? 0;
  into.cost_usd = round(into.cost_usd + (more.cost_usd ?? 0));
  into.duration_ms += more.duration_ms ?? 0;
  into.outcomes ??= {};
  for (const [outcome, calls] of Object.entries(more.outcomes ?? {})) {
    into.outcomes[outcome] = (into.outcomes[outcome] ?? 0) + calls;
  }
  return into;
}

/** What `from` spent beyond `part`: the calls recorded but not yet stored with a checkpoint. */
function subtractUsage(from: UsageEntry, part: UsageEntry): UsageEntry {
  const outcomes: Record<string, number> = {};
  for (const [outcome, calls] of Object.entries(from.outcomes ?? {})) {
    const left = calls - (part.outcomes?.[outcome] ?? 0);
    if (left > 0) outcomes[outcome] = left;
  }
  return {
    calls: from.calls - part.calls,
    prompt_tokens: from.prompt_tokens - part.prompt_tokens,
    completion_tokens: from.completion_tokens - part.completion_tokens,
    cost_usd: round(from.cost_usd - part.cost_usd),
    duration_ms: from.duration_ms - part.duration_ms,
    outcomes,
  };
}

export type Tool = 'search' | 'fetch';

function usageOf(spending: LlmSpending, durationMs: number): UsageEntry {
  return {
    calls: spending.calls,
    prompt_tokens: spending.promptTokens,
    completion_tokens: spending.completionTokens,
    cost_usd: round(spending.costUsd),
    duration_ms: durationMs,
    outcomes: { ...spending.outcomes },
  };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/**
 * The spending of one research against its limits, across runs: a resumed run starts from the
 * usage its completed steps recorded. Each stage may spend up to a share of every limit, so a
 * stage that runs out leaves room for the stages after it to write a report.
 */
export class BudgetTracker {
  private readonly stages = new Map<string, UsageEntry>();
  /** What of `stages` is stored with checkpoints (or came from them): the rest would be lost with the run. */
  private readonly stored = new Map<string, UsageEntry>();
  private readonly tools: Record<Tool, ToolUsage> = { search: { calls: 0, failed: 0 }, fetch: { calls: 0, failed: 0 } };
  private exhaustedBudget: BudgetKind | null = null;
  /** LLM completions started and not yet recorded: parallel callers must not all pass the check. */
  private inFlight = 0;

  constructor(
    readonly limits: ResearchBudget,
    private readonly startedAt: Date,
    steps: Map<string, CompletedStep> = new Map(),
    private readonly now: () => number = Date.now,
    /** False when a model in use has no price: cost is then 0 and not a limit. */
    private readonly costEnforced = true,
  ) {
    for (const step of steps.values()) {
      const usage = (step.usage ?? {}) as {
        stage?: string;
        tools?: Partial<Record<Tool, ToolUsage>>;
      } & Partial<UsageEntry>;
      if (usage.stage) {
        this.record(usage.stage, usage);
        this.markStored(usage.stage, usage);
      }
      for (const [tool, counts] of Object.entries(usage.tools ?? {})) this.count(tool as Tool, counts);
    }
  }

  /** Usage stored with a checkpoint: it survives the run. */
  markStored(stage: string, usage: Partial<UsageEntry>): void {
    this.stored.set(stage, addUsage(this.stored.get(stage) ?? emptyUsage(), usage));
  }

  /**
   * Spending recorded but not stored with any checkpoint, by stage: calls of steps that failed or
   * were cut short. A run that ends without finishing stores it, so the next run still counts it.
   */
  unstored(): [string, UsageEntry][] {
    return [...this.stages]
      .map(([stage, entry]): [string, UsageEntry] => [
        stage,
        subtractUsage(entry, this.stored.get(stage) ?? emptyUsage()),
      ])
      .filter(([, entry]) => entry.calls > 0);
  }

  /** Search-provider queries or page fetches, and how many failed. */
  count(tool: Tool, usage: Partial<ToolUsage>): void {
    this.tools[tool].calls += usage.calls ?? 0;
    this.tools[tool].failed += usage.failed ?? 0;
  }

  get exhausted(): BudgetKind | null {
    return this.exhaustedBudget;
  }

  /** A limit that ended the work elsewhere (the deadline aborting a call): recorded, and the error to throw. */
  exhaust(kind: BudgetKind): BudgetExhaustedError {
    this.exhaustedBudget ??= kind;
    return new BudgetExhaustedError(kind);
  }

  record(stage: string, usage: Partial<UsageEntry>): void {
    const entry = this.stages.get(stage) ?? emptyUsage();
    this.stages.set(stage, addUsage(entry, usage));
  }

  total(): UsageEntry {
    const total = emptyUsage();
    for (const entry of this.stages.values()) addUsage(total, entry);
    return total;
  }

  /**
   * Throws BudgetExhaustedError when the research has spent `share` (0..1) of any limit: before
   * an LLM call, so that no call starts once a budget is gone.
   */
  ensure(share = 1): void {
    const total = this.total();
    const elapsedSeconds = (this.now() - this.startedAt.getTime()) / 1000;
    const over: [BudgetKind, boolean][] = [
      ['time', elapsedSeconds >= this.limits.seconds * share],
      ['llm_calls', total.calls + this.inFlight >= this.limits.llmCalls * share],
      ['tokens', total.prompt_tokens + total.completion_tokens >= this.limits.tokens * share],
      ['cost', this.limits.costUsd > 0 && total.cost_usd >= this.limits.costUsd * share],
    ];
    const kind = over.find(([, isOver]) => isOver)?.[0];
    if (kind) {
      this.exhaustedBudget ??= kind;
      throw new BudgetExhaustedError(kind);
    }
  }

  /**
   * Runs one LLM completion within the budget: refused (BudgetExhaustedError) when `share` of a
   * limit is spent, counted as in flight while it runs. Every HTTP call it made is recorded under
   * `stage` when it ends, whether it returns or throws (an error, a time-out, an abort); what it
   * spent is returned with its value.
   */
  async spend<T>(
    stage: string,
    share: number,
    call: (spending: LlmSpending) => Promise<T>,
  ): Promise<{ value: T; usage: UsageEntry }> {
    this.ensure(share);
    this.inFlight += 1;
    const spending = noSpending();
    const started = this.now();
    let usage: UsageEntry | undefined;
    try {
      const value = await call(spending);
      usage = usageOf(spending, this.now() - started);
      return { value, usage };
    } finally {
      this.inFlight -= 1;
      this.record(stage, usage ?? usageOf(spending, this.now() - started));
    }
  }

  /** Tokens left before the limit; callers bound their completions by it. */
  remainingTokens(): number {
    const total = this.total();
    return Math.max(0, this.limits.tokens - total.prompt_tokens - total.completion_tokens);
  }

  /** Milliseconds left before the deadline. */
  remainingMs(): number {
    return Math.max(0, this.startedAt.getTime() + this.limits.seconds * 1000 - this.now());
  }

  usage(): ResearchUsage {
    return {
      stages: Object.fromEntries([...this.stages].map(([stage, entry]) => [stage, { ...entry }])),
      total: this.total(),
      search: { ...this.tools.search },
      fetch: { ...this.tools.fetch },
      budget: {
        limits: {
          tokens: this.limits.tokens,
          cost_usd: this.limits.costUsd,
          llm_calls: this.limits.llmCalls,
          seconds: this.limits.seconds,
        },
        exhausted: this.exhaustedBudget,
        cost_enforced: this.costEnforced,
      },
    };
  }
}

import { loadConfig } from '@app/config';
import { LlmError, LlmFailure } from '@app/llm';
import {
  CompletedStep,
  PlanReviewRequiredError,
  REVIEWED_PLAN_STEP,
  ResearchRunContext,
  ResearchTask,
  StoredSource,
} from '@app/research';
import { Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { BudgetTracker } from './budget';
import { DeepResearchRunner } from './deep-research.runner';
import { Plan, Planner } from './planner.agent';
import { Reader } from './reader.agent';
import { SearchOutcome, SearchScope, Searcher } from './searcher.agent';
import { Verifier } from './verifier.agent';
import { Writer } from './writer.agent';

const PLANNED: Plan = {
  subQuestions: [
    { question: 'Who supplies HBM?', queries: ['HBM suppliers'] },
    { question: 'How much HBM was shipped?', queries: ['HBM shipments 2024', 'HBM volume'] },
  ],
};

/** A planner with a scripted answer, counting its calls. */
class ScriptedPlanner {
  calls = 0;
  constructor(private readonly answer: Plan | Error) {}

  async plan(): Promise<{ plan: Plan; usage: Record<string, number> }> {
    this.calls += 1;
    if (this.answer instanceof Error) throw this.answer;
    return {
      plan: this.answer,
      usage: { calls: 1, prompt_tokens: 10, completion_tokens: 10, cost_usd: 0, duration_ms: 1 },
    };
  }
}

/** A searcher that finds nothing: the research then reports without any other model call. */
class RecordingSearcher {
  readonly rounds: string[][] = [];

  async search(_scope: SearchScope, queries: readonly string[]): Promise<SearchOutcome> {
    this.rounds.push([...queries]);
    return { sources: [], queries: queries.length, found: 0, searchFailures: [], readFailures: [] };
  }
}

/** The run's context, in memory: the steps an earlier run stored, and what this run stores. */
function memoryContext(stored: Record<string, unknown> = {}) {
  const steps = new Map<string, CompletedStep>(
    Object.entries(stored).map(([name, data]) => [name, { data, usage: {} }]),
  );
  const saved: string[] = [];
  const context: ResearchRunContext = {
    signal: new AbortController().signal,
    checkpoint: async () => undefined,
    emit: async () => undefined,
    loadSteps: async () => new Map(steps),
    saveStep: async (name, data, usage = {}) => {
      saved.push(name);
      steps.set(name, { data, usage });
    },
    loadSources: async (): Promise<StoredSource[]> => [],
    saveSources: async () => undefined,
  };
  return { context, saved };
}

const task = (reviewPlan: boolean): ResearchTask => ({
  researchId: '00000000-0000-4000-8000-000000000001',
  tenantId: '00000000-0000-4000-8000-000000000002',
  question: 'What limited HBM supply in 2024?',
  params: { maxSources: 5, verify: false, language: 'en', depth: 1, ...(reviewPlan ? { reviewPlan } : {}) },
  requestId: null,
  attempt: 1,
  startedAt: new Date(),
});

const counter = { inc: () => undefined } as unknown as Counter<string>;

function runner(planner: ScriptedPlanner, searcher: RecordingSearcher): DeepResearchRunner {
  const config = loadConfig({ LLM_BASE_URL: 'http://127.0.0.1:9/v1' });
  const unused = {} as never;
  return new DeepResearchRunner(
    planner as unknown as Planner,
    searcher as unknown as Searcher,
    unused as Reader,
    unused as Writer,
    unused as Verifier,
    config,
    counter,
    counter,
  );
}

describe('DeepResearchRunner and plan review', () => {
  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterAll(() => jest.restoreAllMocks());

  it('stops after planning with the plan when the research asks for a review, before any search', async () => {
    const planner = new ScriptedPlanner(PLANNED);
    const searcher = new RecordingSearcher();
    const { context, saved } = memoryContext();
    const stop = await runner(planner, searcher)
      .run(task(true), context)
      .catch((error: unknown) => error);
    expect(stop).toBeInstanceOf(PlanReviewRequiredError);
    expect(stop).toMatchObject({ plan: PLANNED, fallback: false });
    expect(planner.calls).toBe(1);
    expect(searcher.rounds).toEqual([]);
    // The plan is a checkpoint: accepted as is, it is not paid for again.
    expect(saved).toEqual(['plan']);
  });

  it('shows the question itself as the plan when planning failed, marked as a fallback', async () => {
    const planner = new ScriptedPlanner(new LlmError(LlmFailure.InvalidOutput, 'no plan'));
    const searcher = new RecordingSearcher();
    const stop = await runner(planner, searcher)
      .run(task(true), memoryContext().context)
      .catch((error: unknown) => error);
    expect(stop).toMatchObject({
      plan: { subQuestions: [{ question: task(true).question, queries: [task(true).question] }] },
      fallback: true,
    });
    expect(searcher.rounds).toEqual([]);
  });

  it('runs the reviewed plan without planning again', async () => {
    const reviewed: Plan = {
      subQuestions: [{ question: 'Which packaging limited HBM?', queries: ['CoWoS capacity'] }],
    };
    const planner = new ScriptedPlanner(PLANNED);
    const searcher = new RecordingSearcher();
    const { context } = memoryContext({ plan: PLANNED, [REVIEWED_PLAN_STEP]: reviewed });
    const result = await runner(planner, searcher).run(task(true), context);
    expect(planner.calls).toBe(0);
    expect(searcher.rounds).toEqual([[task(true).question, 'CoWoS capacity']]);
    expect(result.plan).toEqual({
      sub_questions: [{ question: 'Which packaging limited HBM?', queries: ['CoWoS capacity'] }],
    });
  });

  it('runs the plan at once when no review was asked for', async () => {
    const planner = new ScriptedPlanner(PLANNED);
    const searcher = new RecordingSearcher();
    const result = await runner(planner, searcher).run(task(false), memoryContext().context);
    expect(planner.calls).toBe(1);
    expect(searcher.rounds).toEqual([[task(false).question, 'HBM suppliers', 'HBM shipments 2024', 'HBM volume']]);
    expect(result.plan?.sub_questions).toHaveLength(2);
  });

  it('keeps the budget of the steps stored before the review', () => {
    // The reviewed plan's step carries no usage: the tracker counts only the planner's call.
    const tracker = new BudgetTracker(
      { tokens: 1000, costUsd: 1, llmCalls: 5, seconds: 60 },
      new Date(),
      new Map([
        ['plan', { data: PLANNED, usage: { stage: 'planner', calls: 1, prompt_tokens: 10, completion_tokens: 10 } }],
        [REVIEWED_PLAN_STEP, { data: PLANNED, usage: {} }],
      ]),
    );
    expect(tracker.usage().total.calls).toBe(1);
  });
});

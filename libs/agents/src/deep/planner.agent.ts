import { LlmClient } from '@app/llm';
import { TrackResearchTask } from '@app/observability';
import { UsageEntry } from '@app/research';
import { Injectable } from '@nestjs/common';
import { BudgetTracker } from './budget';
import { askModel } from './model-call';
import { planMessages } from './prompts';
import { PLAN_SCHEMA, PlanReply } from './schemas';

export interface Plan {
  subQuestions: { question: string; queries: string[] }[];
}

const MAX_PLAN_TOKENS = 1500;

/** Breaks the question into sub-questions and search queries. */
@Injectable()
export class Planner {
  constructor(private readonly llm: LlmClient) {}

  @TrackResearchTask('planner')
  async plan(
    tenantId: string,
    question: string,
    language: string,
    budget: BudgetTracker,
    signal: AbortSignal,
  ): Promise<{ plan: Plan; usage: UsageEntry }> {
    const { response, usage } = await askModel<PlanReply>(this.llm, budget, {
      tenantId,
      stage: 'planner',
      share: 1,
      messages: planMessages(question, language),
      schema: PLAN_SCHEMA,
      maxTokens: MAX_PLAN_TOKENS,
      minTokens: 256,
      temperature: 0.2,
      signal,
    });
    const subQuestions = response.value.sub_questions
      .map((sub) => ({
        question: sub.question.trim(),
        queries: [...new Set(sub.queries.map((q) => q.trim()).filter(Boolean))],
      }))
      .filter((sub) => sub.question.length > 0);
    return { plan: { subQuestions }, usage };
  }
}

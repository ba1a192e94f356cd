import { LlmClient } from '@app/llm';
import { TrackResearchTask } from '@app/observability';
import { UsageEntry } from '@app/research';
import { Injectable } from '@nestjs/common';
import { BudgetTracker, usageOf } from './budget';
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
    const response = await budget.spend('planner', 1, () =>
      this.llm.complete<PlanReply>({
        tenantId,
        stage: 'planner',
        messages: planMessages(question, language),
        schema: PLAN_SCHEMA,
        maxTokens: Math.min(MAX_PLAN_TOKENS, Math.max(256, budget.remainingTokens())),
        temperature: 0.2,
        signal,
      }),
    );
    const usage = usageOf(response);
    const subQuestions = response.value.sub_questions
      .map((sub) => ({
        question: sub.question.trim(),
        queries: [...new Set(sub.queries.map((q) => q.trim()).filter(Boolean))],
      }))
      .filter((sub) => sub.question.length > 0);
    return { plan: { subQuestions }, usage };
  }
}

import { LlmClient } from '@app/llm';
import { TrackResearchTask } from '@app/observability';
import { ResearchPlan, UsageEntry } from '@app/research';
import { Injectable } from '@nestjs/common';
import { BudgetTracker } from './budget';
import { askModel } from './model-call';
import { FindingForReview, gapMessages, planMessages } from './prompts';
import { GapReply, PLAN_SCHEMA, PlanReply, gapSchema } from './schemas';

export type Plan = ResearchPlan;

const MAX_PLAN_TOKENS = 1500;
const MAX_GAP_TOKENS = 800;

/** What a round of reading left open, and what to search for next. */
export interface Gaps {
  /** Sub-questions (1-based) not answered, answered in part, or contradicted. */
  open: number[];
  /** Follow-up queries not run before; empty when there is nothing left to look for. */
  queries: string[];
}

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

  /**
   * The gap analysis after a round: which sub-questions the findings leave open, and follow-up
   * queries for them. It sees findings only, never source text. A sub-question it says nothing
   * of is open.
   */
  @TrackResearchTask('planner')
  async followUp(
    tenantId: string,
    question: string,
    subQuestions: string[],
    queriesRun: string[],
    findings: FindingForReview[],
    budget: BudgetTracker,
    share: number,
    signal: AbortSignal,
  ): Promise<{ gaps: Gaps; usage: UsageEntry }> {
    const { response, usage } = await askModel<GapReply>(this.llm, budget, {
      tenantId,
      stage: 'planner',
      share,
      messages: gapMessages(question, subQuestions, queriesRun, findings),
      schema: gapSchema(subQuestions.length),
      maxTokens: MAX_GAP_TOKENS,
      minTokens: 128,
      temperature: 0.2,
      signal,
    });
    const status = new Map(response.value.sub_questions.map((s) => [s.sub_question, s.status]));
    const open = subQuestions.map((_, i) => i + 1).filter((n) => (status.get(n) ?? 'unanswered') !== 'answered');
    const run = new Set(queriesRun.map(normalizeQuery));
    const queries: string[] = [];
    for (const query of response.value.queries) {
      const key = normalizeQuery(query);
      if (key.length === 0 || run.has(key)) continue;
      run.add(key);
      queries.push(query.trim());
    }
    return { gaps: { open, queries: open.length > 0 ? queries : [] }, usage };
  }
}

function normalizeQuery(query: string): string {
  return query.toLowerCase().replace(/\s+/g, ' ').trim();
}

import { QUESTION_MAX_LENGTH } from './research-params';

/** What the deep engine searches for: the question broken into sub-questions, each with its queries. */
export interface ResearchPlan {
  subQuestions: PlannedSubQuestion[];
}

export interface PlannedSubQuestion {
  question: string;
  queries: string[];
}

/** A plan as the API, the events and the result show it. */
export interface ResearchPlanJson {
  sub_questions: { question: string; queries: string[] }[];
}

/** The most sub-questions a plan may have: the planner's schema and a reviewed plan alike. */
export const PLAN_MAX_SUB_QUESTIONS = 6;
/** The most queries a sub-question may have. */
export const PLAN_MAX_QUERIES = 3;
/** As long as the question may be: the plan of a research whose planning failed is the question. */
export const PLAN_QUESTION_MAX_LENGTH = QUESTION_MAX_LENGTH;
export const PLAN_QUERY_MAX_LENGTH = 400;

/** The step in which the deep engine stores the plan it made: what a review shows, when accepted as is. */
export const PLAN_STEP = 'plan';

/**
 * The step in which a reviewed plan is stored (`POST /api/v1/research/{id}/plan`): the run that
 * follows reads it instead of planning again.
 */
export const REVIEWED_PLAN_STEP = 'plan:reviewed';

export function planJson(plan: ResearchPlan): ResearchPlanJson {
  return { sub_questions: plan.subQuestions.map(({ question, queries }) => ({ question, queries: [...queries] })) };
}

/**
 * What a research searches when planning failed: the question itself. Shown for review as a plan
 * of one sub-question, so that its caller can write a better one; its query is cut to the length a
 * reviewed query may have, so that the plan can be sent back as shown.
 */
export function questionPlan(question: string): ResearchPlan {
  return { subQuestions: [{ question, queries: [question.slice(0, PLAN_QUERY_MAX_LENGTH)] }] };
}

/** Whether two plans ask the same sub-questions with the same queries, in the same order. */
export function samePlan(a: ResearchPlan, b: ResearchPlan): boolean {
  return JSON.stringify(planJson(a)) === JSON.stringify(planJson(b));
}

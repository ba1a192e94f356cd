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

/** The most sub-questions a plan may have. */
export const PLAN_MAX_SUB_QUESTIONS = 6;
/** The most queries a sub-question may have. */
export const PLAN_MAX_QUERIES = 3;

export function planJson(plan: ResearchPlan): ResearchPlanJson {
  return { sub_questions: plan.subQuestions.map(({ question, queries }) => ({ question, queries: [...queries] })) };
}

/** The limits of one research, resolved from the request and the configured defaults. */
export interface ResearchBudget {
  tokens: number;
  costUsd: number;
  llmCalls: number;
  /** Wall-clock seconds from the research's first start. */
  seconds: number;
}

export interface ResearchParams {
  maxSources: number;
  verify: boolean;
  /** A canonical BCP-47 tag, e.g. `en` or `zh-TW`. */
  language: string;
  /** Absent on researches created before budgets existed: the engine then uses the defaults. */
  budget?: ResearchBudget;
}

export const RESEARCH_DEFAULTS: ResearchParams = { maxSources: 10, verify: true, language: 'en' };
export const QUESTION_MAX_LENGTH = 2000;
export const MAX_SOURCES_LIMIT = 50;

export interface ResearchParams {
  maxSources: number;
  verify: boolean;
  /** A canonical BCP-47 tag, e.g. `en` or `zh-TW`. */
  language: string;
}

export const RESEARCH_DEFAULTS: ResearchParams = { maxSources: 10, verify: true, language: 'en' };
export const QUESTION_MAX_LENGTH = 2000;
export const MAX_SOURCES_LIMIT = 50;

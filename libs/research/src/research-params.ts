import { SEARCH_PROVIDER_NAMES, SearchProviderName } from '@app/config';

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
  /**
   * The providers the research may search, in the configured order. Absent on researches created
   * before a request could choose: they search the corpus, the only provider there was.
   */
  sources?: SearchProviderName[];
  /**
   * Search-and-read rounds of the deep engine. Absent on researches created before rounds
   * existed: they read once.
   */
  depth?: number;
  /** Where the terminal result is delivered, signed (a webhook); none when absent. */
  callbackUrl?: string;
  /**
   * Stop after planning and wait for the caller to accept or edit the plan (deep engine only).
   * Stored only when asked for.
   */
  reviewPlan?: boolean;
}

/** The providers of a research, `['corpus']` for one created before a request could choose. */
export function sourcesOf(params: ResearchParams): readonly SearchProviderName[] {
  return params.sources ?? SOURCES_BEFORE_CHOICE;
}

const SOURCES_BEFORE_CHOICE: readonly SearchProviderName[] = ['corpus'];

export const RESEARCH_DEFAULTS: ResearchParams = { maxSources: 10, verify: true, language: 'en' };
export const QUESTION_MAX_LENGTH = 2000;
export const MAX_SOURCES_LIMIT = 50;
/** The most any configuration may allow a research's `depth` to be. */
export const DEPTH_LIMIT = 10;

/** What a request's `sources` may name: a provider, or `web` for every configured web engine. */
export const SOURCE_CHOICES: readonly string[] = [...SEARCH_PROVIDER_NAMES, 'web'];

import { JsonSchemaFormat } from '@app/llm';
import { PLAN_MAX_QUERIES, PLAN_MAX_SUB_QUESTIONS } from '@app/research';

/**
 * The structured outputs of the pipeline, in the JSON Schema subset strict structured outputs
 * accept (every property required, no additional properties). Replies are validated against
 * the same schema before use.
 *
 * The schemas that refer to findings, sub-questions or sentences are built for each call: finding
 * ids are an `enum` of the ids that exist, numbers are bounded by what was given. Under strict
 * structured outputs (OpenAI, vLLM's guided decoding) a reply cannot name anything else; from
 * other servers such a reply fails validation and is repaired, and the checks in code after it
 * stay as the second line of defence.
 */

const string = { type: 'string' } as const;

/** Up to 8 ids, each one of the findings given. */
function findingIds(ids: readonly string[]) {
  return { type: 'array', items: { type: 'string', enum: [...ids] }, maxItems: 8 } as const;
}

export interface PlanReply {
  sub_questions: { question: string; queries: string[] }[];
}

export const PLAN_SCHEMA: JsonSchemaFormat = {
  name: 'research_plan',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['sub_questions'],
    properties: {
      sub_questions: {
        type: 'array',
        minItems: 3,
        maxItems: PLAN_MAX_SUB_QUESTIONS,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['question', 'queries'],
          properties: {
            question: string,
            queries: { type: 'array', minItems: 1, maxItems: PLAN_MAX_QUERIES, items: string },
          },
        },
      },
    },
  },
};

export const GAP_STATUSES = ['answered', 'partial', 'unanswered', 'contradicted'] as const;
export type GapStatus = (typeof GAP_STATUSES)[number];

export interface GapReply {
  sub_questions: { sub_question: number; status: GapStatus }[];
  queries: string[];
}

/** The state of each of the `subQuestions` numbered sub-questions, and up to 4 follow-up queries. */
export const gapSchema = (subQuestions: number): JsonSchemaFormat => ({
  name: 'gap_analysis',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['sub_questions', 'queries'],
    properties: {
      sub_questions: {
        type: 'array',
        maxItems: subQuestions,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['sub_question', 'status'],
          properties: {
            sub_question: { type: 'integer', minimum: 1, maximum: subQuestions },
            status: { type: 'string', enum: [...GAP_STATUSES] },
          },
        },
      },
      queries: { type: 'array', maxItems: 4, items: string },
    },
  },
});

export interface FindingsReply {
  findings: { quote: string; note: string; sub_question: number }[];
}

/** Findings of one source; `sub_question` is 0 (none of them) or the number of a sub-question given. */
export const findingsSchema = (subQuestions: number): JsonSchemaFormat => ({
  name: 'source_findings',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['findings'],
    properties: {
      findings: {
        type: 'array',
        maxItems: 6,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['quote', 'note', 'sub_question'],
          properties: {
            quote: string,
            note: string,
            sub_question: { type: 'integer', minimum: 0, maximum: subQuestions },
          },
        },
      },
    },
  },
});

export interface DraftSentence {
  text: string;
  findings: string[];
  /**
   * Conclusion sentences only: the writer's own synthesis across the findings, citing none. It is
   * shown with a mark that says so; every other sentence cites findings and is verified.
   */
  synthesis?: boolean;
}

export interface DraftReply {
  title: string;
  sections: { heading: string; sentences: DraftSentence[] }[];
  conclusion: DraftSentence[];
  uncertainty: string;
}

function sentenceSchema(ids: readonly string[], withSynthesis: boolean) {
  return {
    type: 'object',
    additionalProperties: false,
    required: withSynthesis ? ['text', 'findings', 'synthesis'] : ['text', 'findings'],
    properties: {
      text: string,
      findings: findingIds(ids),
      ...(withSynthesis ? { synthesis: { type: 'boolean' } } : {}),
    },
  } as const;
}

/**
 * A draft whose sentences may cite only the findings given. A section sentence always cites; a
 * conclusion sentence cites, or is marked as the writer's synthesis.
 */
export function draftSchema(ids: readonly string[]): JsonSchemaFormat {
  return {
    name: 'report_draft',
    schema: {
      type: 'object',
      additionalProperties: false,
      required: ['title', 'sections', 'conclusion', 'uncertainty'],
      properties: {
        title: string,
        sections: {
          type: 'array',
          minItems: 1,
          maxItems: 6,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['heading', 'sentences'],
            properties: {
              heading: string,
              sentences: { type: 'array', minItems: 1, maxItems: 10, items: sentenceSchema(ids, false) },
            },
          },
        },
        conclusion: { type: 'array', minItems: 1, maxItems: 4, items: sentenceSchema(ids, true) },
        uncertainty: string,
      },
    },
  };
}

/** How the verifier judges a sentence against the quotes it cites. */
export const VERDICT_LABELS = ['supported', 'partially_supported', 'unsupported', 'contradicted'] as const;
export type VerdictLabel = (typeof VERDICT_LABELS)[number];

export interface VerificationReply {
  verdicts: { sentence: number; label: VerdictLabel; reason: string }[];
}

/** A verdict for each of the sentences numbered `first` to `last`. */
export const verificationSchema = (first: number, last: number): JsonSchemaFormat => ({
  name: 'sentence_verification',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['verdicts'],
    properties: {
      verdicts: {
        type: 'array',
        maxItems: last - first + 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['sentence', 'label', 'reason'],
          properties: {
            sentence: { type: 'integer', minimum: first, maximum: last },
            label: { type: 'string', enum: [...VERDICT_LABELS] },
            reason: string,
          },
        },
      },
    },
  },
});

export interface RevisionReply {
  sentences: { sentence: number; text: string; findings: string[] }[];
}

/** A rewrite of each sentence named (an empty text drops it), citing only the findings given. */
export const revisionSchema = (sentences: readonly number[], ids: readonly string[]): JsonSchemaFormat => ({
  name: 'sentence_revision',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['sentences'],
    properties: {
      sentences: {
        type: 'array',
        maxItems: sentences.length,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['sentence', 'text', 'findings'],
          properties: {
            sentence: { type: 'integer', enum: [...sentences] },
            text: string,
            findings: findingIds(ids),
          },
        },
      },
    },
  },
});

import { JsonSchemaFormat } from '@app/llm';

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
        maxItems: 6,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['question', 'queries'],
          properties: {
            question: string,
            queries: { type: 'array', minItems: 1, maxItems: 3, items: string },
          },
        },
      },
    },
  },
};

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
}

export interface DraftReply {
  title: string;
  sections: { heading: string; sentences: DraftSentence[] }[];
  conclusion: DraftSentence[];
  uncertainty: string;
}

/** A draft whose sentences may cite only the findings given. */
export function draftSchema(ids: readonly string[]): JsonSchemaFormat {
  const sentence = {
    type: 'object',
    additionalProperties: false,
    required: ['text', 'findings'],
    properties: { text: string, findings: findingIds(ids) },
  } as const;
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
            properties: { heading: string, sentences: { type: 'array', minItems: 1, maxItems: 10, items: sentence } },
          },
        },
        conclusion: { type: 'array', minItems: 1, maxItems: 4, items: sentence },
        uncertainty: string,
      },
    },
  };
}

export type ClaimLabel = 'supported' | 'contradicted' | 'unverified';

export interface VerificationReply {
  claims: { sentence: number; claim: string; label: ClaimLabel; findings: string[] }[];
}

/** Labels for the sentences numbered `first` to `last`, citing only the findings given. */
export const verificationSchema = (ids: readonly string[], first: number, last: number): JsonSchemaFormat => ({
  name: 'claim_verification',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['claims'],
    properties: {
      claims: {
        type: 'array',
        maxItems: 60,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['sentence', 'claim', 'label', 'findings'],
          properties: {
            sentence: { type: 'integer', minimum: first, maximum: last },
            claim: string,
            label: { type: 'string', enum: ['supported', 'contradicted', 'unverified'] },
            findings: findingIds(ids),
          },
        },
      },
    },
  },
});

import { JsonSchemaFormat } from '@app/llm';

/**
 * The structured outputs of the pipeline, in the JSON Schema subset strict structured outputs
 * accept (every property required, no additional properties). Replies are validated against
 * the same schema before use.
 */

const string = { type: 'string' } as const;
const findingIds = { type: 'array', items: string, maxItems: 8 } as const;

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

export const FINDINGS_SCHEMA: JsonSchemaFormat = {
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
          properties: { quote: string, note: string, sub_question: { type: 'integer', minimum: 0 } },
        },
      },
    },
  },
};

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

const sentence = {
  type: 'object',
  additionalProperties: false,
  required: ['text', 'findings'],
  properties: { text: string, findings: findingIds },
} as const;

export const DRAFT_SCHEMA: JsonSchemaFormat = {
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

export type ClaimLabel = 'supported' | 'contradicted' | 'unverified';

export interface VerificationReply {
  claims: { sentence: number; claim: string; label: ClaimLabel; findings: string[] }[];
}

export const VERIFICATION_SCHEMA: JsonSchemaFormat = {
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
            sentence: { type: 'integer', minimum: 1 },
            claim: string,
            label: { type: 'string', enum: ['supported', 'contradicted', 'unverified'] },
            findings: findingIds,
          },
        },
      },
    },
  },
};

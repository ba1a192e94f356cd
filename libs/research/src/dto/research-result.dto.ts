import { SEARCH_PROVIDER_NAMES } from '@app/config';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** OpenAPI descriptions of the result document (see `ResearchResult`). */
export class ResearchSourceDto {
  @ApiProperty({ description: 'The number used in `[n]` citations.', example: 1 })
  n: number;

  @ApiProperty({ enum: ['document', 'web'] })
  kind: string;

  @ApiProperty({ description: 'The provider that found it.', example: 'searxng', enum: SEARCH_PROVIDER_NAMES })
  provider: string;

  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  document_id: string | null;

  @ApiProperty({ type: String, nullable: true })
  url: string | null;

  @ApiProperty()
  title: string;

  @ApiProperty({ description: 'sha256 of the text the research read.' })
  content_hash: string;

  @ApiProperty({ format: 'date-time' })
  retrieved_at: string;
}

export class ResearchFindingDto {
  @ApiProperty({ example: 'F3' })
  id: string;

  @ApiProperty({ description: 'The `n` of the source.' })
  source: number;

  @ApiProperty({ description: 'Verbatim text of the source.' })
  quote: string;

  @ApiProperty({ description: 'Offset of the quote in the source text (UTF-16 code units).' })
  start: number;

  @ApiProperty()
  end: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Relevance to the question (extractive engine).' })
  score: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: "What the finding says, in the reader's words (LLM engine).",
  })
  note: string | null;
}

export class ResearchClaimDto {
  @ApiProperty({ description: 'The sentence as the report shows it, or as written when it was removed.' })
  text: string;

  @ApiProperty({
    enum: ['supported', 'partially_supported', 'unsupported', 'contradicted', 'unverified', 'synthesis'],
    description:
      'The verdict on the sentence against the quotes it cites. A sentence not supported is rewritten once and ' +
      'checked again; if it is still unsupported or contradicted it is removed (kept: false); if it is still only ' +
      'partially supported, or was never checked (unverified), it is kept and marked ⚠ in the report. A ' +
      'synthesis sentence cites no finding and is marked ◇.',
  })
  label: string;

  @ApiProperty({ type: [Number] })
  sources: number[];

  @ApiProperty({ type: [String], description: 'Ids of the findings the sentence cites.' })
  findings: string[];

  @ApiProperty({ description: 'False for a sentence removed from the report.' })
  kept: boolean;

  @ApiProperty({ description: 'True when the sentence was rewritten after the first check.' })
  rewritten: boolean;
}

export class ResearchSubQuestionDto {
  @ApiProperty()
  question: string;

  @ApiProperty({ type: [String] })
  queries: string[];
}

export class ResearchPlanDto {
  @ApiProperty({ type: [ResearchSubQuestionDto] })
  sub_questions: ResearchSubQuestionDto[];
}

export class ResearchRoundDto {
  @ApiProperty({ example: 1 })
  round: number;

  @ApiProperty({
    type: [String],
    description: 'Round 1: the question and the plan’s queries; later rounds: the gap analysis’s follow-ups.',
  })
  queries: string[];

  @ApiProperty({ description: 'New sources the round found.' })
  sources: number;

  @ApiProperty({ description: 'Of those, the ones read (the others were skipped).' })
  sources_read: number;

  @ApiProperty({ description: 'Findings the round added.' })
  findings: number;
}

export class UsageEntryDto {
  @ApiProperty({
    description: 'Every HTTP call to the LLM: failed, timed out, rate limited and repair calls included.',
  })
  calls: number;

  @ApiProperty()
  prompt_tokens: number;

  @ApiProperty()
  completion_tokens: number;

  @ApiProperty()
  cost_usd: number;

  @ApiProperty()
  duration_ms: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description:
      'The calls by how they ended: success, rate_limited, server_error, timeout, rejected (refused, not retried) ' +
      'or aborted (cancelled, or stopped at the time budget); for example {"success": 5, "timeout": 1}.',
  })
  outcomes: Record<string, number>;
}

export class ResearchBudgetDto {
  @ApiProperty({ example: 200000 })
  max_tokens: number;

  @ApiProperty({ example: 1 })
  max_cost_usd: number;

  @ApiProperty({ example: 80 })
  max_llm_calls: number;

  @ApiProperty({ example: 600 })
  max_seconds: number;
}

export class UsageBudgetDto {
  @ApiProperty({
    type: 'object',
    properties: {
      tokens: { type: 'number' },
      cost_usd: { type: 'number' },
      llm_calls: { type: 'number' },
      seconds: { type: 'number' },
    },
  })
  limits: { tokens: number; cost_usd: number; llm_calls: number; seconds: number };

  @ApiProperty({ type: String, nullable: true, enum: ['tokens', 'cost', 'llm_calls', 'time'] })
  exhausted: string | null;

  @ApiPropertyOptional({
    description:
      'False when a model the research used has no price in LLM_PRICES: its calls cost 0 in the ledger, so the ' +
      'cost limit is not enforced. Tokens, calls and time are always enforced.',
  })
  cost_enforced?: boolean;
}

export class ToolUsageDto {
  @ApiProperty()
  calls: number;

  @ApiProperty()
  failed: number;
}

export class ResearchUsageDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/UsageEntryDto' },
    description: 'By stage: planner, reader, writer, verifier.',
  })
  stages: Record<string, UsageEntryDto>;

  @ApiProperty({ type: UsageEntryDto })
  total: UsageEntryDto;

  @ApiPropertyOptional({
    type: ToolUsageDto,
    description: 'Queries sent to search providers, one per query and provider.',
  })
  search?: ToolUsageDto;

  @ApiPropertyOptional({ type: ToolUsageDto, description: 'Web pages fetched to be read.' })
  fetch?: ToolUsageDto;

  @ApiProperty({ type: UsageBudgetDto })
  budget: UsageBudgetDto;
}

export class ResearchResultDto {
  @ApiProperty({ example: 'extractive' })
  engine: string;

  @ApiProperty({ example: 'zh-TW' })
  language: string;

  @ApiProperty({ description: 'Markdown report with `[n]` citations.' })
  report: string;

  @ApiProperty({ enum: ['sufficient', 'insufficient', 'none'] })
  evidence: string;

  @ApiProperty({
    description:
      'True when the report is less than the research could give: a budget ran out, a stage failed for good, or ' +
      'sources were left out. The report says why, in its language.',
  })
  partial: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Why the report is partial, the first cause: budget_tokens, budget_cost, budget_llm_calls or budget_time ' +
      '(a budget ran out); writer_failed or verifier_failed (the model failed that stage for good, and the report ' +
      'lists the evidence found instead); sources_skipped (the model failed to read some sources, left out).',
  })
  partial_reason: string | null;

  @ApiProperty({ type: [ResearchSourceDto] })
  sources: ResearchSourceDto[];

  @ApiProperty({ type: [ResearchFindingDto] })
  findings: ResearchFindingDto[];

  @ApiProperty({ type: [ResearchClaimDto] })
  claims: ResearchClaimDto[];

  @ApiPropertyOptional({
    type: ResearchPlanDto,
    nullable: true,
    description: 'The plan the LLM engine followed; null when planning failed and the question itself was searched.',
  })
  plan?: ResearchPlanDto | null;

  @ApiPropertyOptional({ type: [ResearchRoundDto], description: 'Each search-and-read round of the LLM engine.' })
  rounds?: ResearchRoundDto[];

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    enum: ['answered', 'depth', 'budget', 'no_new_queries', 'no_new_sources', 'search_failed', 'gap_failed'],
    description:
      'Why the LLM engine stopped searching: answered (the gap analysis found no sub-question open), depth (the ' +
      'rounds asked for are done), budget, no_new_queries (nothing left to search for), no_new_sources (the ' +
      'follow-up queries found only sources already read), search_failed (a follow-up search reached no provider), ' +
      'gap_failed (the gap analysis failed for good; the report uses what was gathered).',
  })
  stop_reason?: string | null;

  @ApiProperty({
    type: ResearchUsageDto,
    nullable: true,
    description: 'LLM usage ledger; null for the extractive engine.',
  })
  usage: ResearchUsageDto | null;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' } })
  stats: Record<string, number>;
}

export class ResearchFailureDto {
  @ApiProperty({ example: 'runner_failed' })
  code: string;

  @ApiProperty()
  message: string;
}

import { SEARCH_PROVIDER_NAMES } from '@app/config';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { sourcesOf } from '../research-params';
import { ResearchStatus } from '../research-status';
import { ResearchView } from '../persistence/research.repository';
import { ResearchFailure, ResearchResult } from '../research-result';
import { ResearchBudgetDto, ResearchResultDto, ResearchFailureDto } from './research-result.dto';
import { PROGRESS_STAGES, QUEUED, ResearchProgress, finished } from '../research-progress';

export class ResearchProgressDto {
  @ApiProperty({
    enum: PROGRESS_STAGES,
    description:
      'The stage the research is in, or was in when it failed or was cancelled; `awaiting_review` while its plan ' +
      'waits to be reviewed.',
  })
  stage: string;

  @ApiProperty({ description: 'The search-and-read round; 0 before the first search.' })
  round: number;

  @ApiProperty()
  sources_found: number;

  @ApiProperty()
  sources_read: number;

  @ApiProperty()
  findings: number;

  @ApiProperty({ description: 'Report sentences being or having been verified.' })
  claims: number;

  @ApiProperty({
    minimum: 0,
    maximum: 100,
    description: 'An estimate of the work done, from the stage and the sources read; it never goes down.',
  })
  percent: number;
}

/** The stored progress, or what a research that stored none (queued, or completed before progress was kept) has. */
function progressOf(research: Pick<ResearchView, 'progress' | 'status' | 'result'>): ResearchProgress {
  if (research.progress) return research.progress;
  if (research.status !== 'completed' || !research.result) return QUEUED;
  const { stats, claims } = research.result;
  return finished({
    ...QUEUED,
    sources_found: stats.sources ?? 0,
    sources_read: stats.sources_read ?? 0,
    findings: research.result.findings.length,
    claims: claims.length,
  });
}

export class ResearchAcceptedResponseDto {
  @ApiProperty({ format: 'uuid', example: '3f0c2f7e-8b9a-4c1e-9a57-1d2c3b4a5e6f' })
  research_id: string;

  @ApiProperty({ example: '2024年全球AI晶片市場分析' })
  question: string;

  @ApiProperty({ enum: ResearchStatus, example: ResearchStatus.Pending })
  status: ResearchStatus;

  @ApiProperty({ format: 'date-time', example: '2024-01-15T10:30:00.000Z' })
  created_at: string;

  static from(research: Pick<ResearchView, 'id' | 'question' | 'status' | 'createdAt'>): ResearchAcceptedResponseDto {
    return {
      research_id: research.id,
      question: research.question,
      status: research.status,
      created_at: research.createdAt.toISOString(),
    };
  }
}

export class ResearchSummaryDto extends ResearchAcceptedResponseDto {
  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  started_at: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  finished_at: string | null;

  static override from(
    research: Pick<ResearchView, 'id' | 'question' | 'status' | 'createdAt' | 'startedAt' | 'finishedAt'>,
  ): ResearchSummaryDto {
    return {
      ...ResearchAcceptedResponseDto.from(research),
      started_at: research.startedAt?.toISOString() ?? null,
      finished_at: research.finishedAt?.toISOString() ?? null,
    };
  }
}

export class ResearchResponseDto extends ResearchSummaryDto {
  @ApiProperty({ example: 10 })
  max_sources: number;

  @ApiProperty({ example: true })
  verify: boolean;

  @ApiProperty({ example: 'zh-TW' })
  language: string;

  @ApiProperty({ example: 2, description: 'Search-and-read rounds the research may take.' })
  depth: number;

  @ApiProperty({
    example: false,
    description: 'Whether the research waits after planning for its plan to be reviewed (`awaiting_review`).',
  })
  review_plan: boolean;

  @ApiProperty({ type: ResearchProgressDto, description: 'How far the research has come.' })
  progress: ResearchProgress;

  @ApiProperty({
    description: 'The providers the research may search, in the configured order.',
    type: [String],
    enum: SEARCH_PROVIDER_NAMES,
    example: ['corpus', 'searxng'],
  })
  sources: string[];

  @ApiProperty({ description: 'How many times a worker has started this research.', example: 1 })
  attempts: number;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'Where the terminal result is delivered (webhook); the log is at `/deliveries`.',
    example: 'https://hooks.example.com/research',
  })
  callback_url: string | null;

  @ApiPropertyOptional({ type: ResearchBudgetDto, nullable: true, description: 'The limits this research runs with.' })
  budget: ResearchBudgetDto | null;

  @ApiPropertyOptional({
    type: ResearchResultDto,
    nullable: true,
    description: 'The report and its evidence; set when the research is completed.',
  })
  result: ResearchResult | null;

  @ApiPropertyOptional({
    type: ResearchFailureDto,
    nullable: true,
    description: 'Why the research failed, or why its last attempt failed while a retry is pending.',
  })
  error: ResearchFailure | null;

  @ApiProperty({ format: 'date-time' })
  updated_at: string;

  /** One literal, without the spreads of the summary's mapping: the read path's hottest object. */
  static override from(research: ResearchView): ResearchResponseDto {
    const { params } = research;
    const budget = params.budget;
    return {
      research_id: research.id,
      question: research.question,
      status: research.status,
      created_at: research.createdAt.toISOString(),
      started_at: research.startedAt?.toISOString() ?? null,
      finished_at: research.finishedAt?.toISOString() ?? null,
      max_sources: params.maxSources,
      verify: params.verify,
      language: params.language,
      depth: params.depth ?? 1,
      review_plan: params.reviewPlan ?? false,
      progress: progressOf(research),
      sources: [...sourcesOf(params)],
      attempts: research.attempts,
      callback_url: params.callbackUrl ?? null,
      budget: budget
        ? {
            max_tokens: budget.tokens,
            max_cost_usd: budget.costUsd,
            max_llm_calls: budget.llmCalls,
            max_seconds: budget.seconds,
          }
        : null,
      result: research.result,
      error: research.error,
      updated_at: research.updatedAt.toISOString(),
    };
  }
}

export class ResearchListResponseDto {
  @ApiProperty({ type: [ResearchSummaryDto] })
  items: ResearchSummaryDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` to get the next page; null on the last page.',
  })
  next_cursor: string | null;
}

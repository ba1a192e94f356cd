import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { present } from '@app/common';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  MaxLength,
  Length,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  DEPTH_LIMIT,
  MAX_SOURCES_LIMIT,
  QUESTION_MAX_LENGTH,
  RESEARCH_DEFAULTS,
  SOURCE_CHOICES,
} from '../research-params';
import { IsLanguageTag, canonicalLanguageTag } from './language-tag';
import { ResearchBudgetRequestDto } from './research-budget.dto';

/** Longer than any callback URL a receiver needs; browsers stop at about this too. */
const CALLBACK_URL_MAX_LENGTH = 2048;

export class CreateResearchRequestDto {
  @ApiProperty({
    description: 'The research question, 1 to 2000 characters after trimming.',
    minLength: 1,
    maxLength: QUESTION_MAX_LENGTH,
    example: '2024年全球AI晶片市場分析',
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @Length(1, QUESTION_MAX_LENGTH)
  @IsString()
  question: string;

  @ApiPropertyOptional({
    description: 'How many sources each search round may add (the first round is the only one at depth 1).',
    minimum: 1,
    maximum: MAX_SOURCES_LIMIT,
    default: RESEARCH_DEFAULTS.maxSources,
    example: 10,
  })
  @ValidateIf(present)
  @Max(MAX_SOURCES_LIMIT)
  @Min(1)
  @IsInt()
  max_sources: number = RESEARCH_DEFAULTS.maxSources;

  @ApiPropertyOptional({
    description: 'Whether to verify the claims of the report against the sources.',
    default: RESEARCH_DEFAULTS.verify,
    example: true,
  })
  @ValidateIf(present)
  @IsBoolean()
  verify: boolean = RESEARCH_DEFAULTS.verify;

  @ApiPropertyOptional({
    description: 'The BCP-47 language tag of the report.',
    default: RESEARCH_DEFAULTS.language,
    example: 'zh-TW',
    maxLength: 35,
  })
  @ValidateIf(present)
  @Transform(({ value }: { value: unknown }) => canonicalLanguageTag(value) ?? value)
  @IsLanguageTag()
  language: string = RESEARCH_DEFAULTS.language;

  @ApiPropertyOptional({
    description:
      'Search-and-read rounds of the LLM engine. After each round but the last, a gap analysis asks which ' +
      'sub-questions are still unanswered or contradicted and searches again for them; the research stops earlier ' +
      'when everything is answered, nothing new is found, or a budget runs out. Default `RESEARCH_DEPTH`; at most ' +
      '`RESEARCH_DEPTH_MAX`. The extractive engine always reads once.',
    minimum: 1,
    maximum: DEPTH_LIMIT,
    example: 2,
  })
  @ValidateIf(present)
  @Max(DEPTH_LIMIT)
  @Min(1)
  @IsInt()
  depth?: number;

  @ApiPropertyOptional({
    type: ResearchBudgetRequestDto,
    description:
      'Limits of the LLM engine for this research. Omitted limits take the configured defaults; none may exceed ' +
      'the configured maxima. When one runs out the report is written from what was gathered and marked partial.',
  })
  @ValidateIf(present)
  @ValidateNested()
  @IsObject()
  @Type(() => ResearchBudgetRequestDto)
  budget?: ResearchBudgetRequestDto;

  @ApiPropertyOptional({
    description:
      'Where the research may look, from the providers the service is configured with (`SEARCH_PROVIDERS`): ' +
      "`corpus` for the tenant's documents, `searxng`, `tavily` or `brave` for one web search engine, `web` for " +
      'every configured web engine. `["corpus"]` makes a documents-only research: no request leaves the service. ' +
      'Default: every configured provider. Naming a provider that is not configured is a 400.',
    type: [String],
    enum: SOURCE_CHOICES,
    example: ['corpus'],
  })
  @ValidateIf(present)
  @IsIn(SOURCE_CHOICES, { each: true })
  @ArrayUnique()
  @ArrayMaxSize(SOURCE_CHOICES.length)
  @ArrayMinSize(1)
  @IsArray()
  sources?: string[];

  @ApiPropertyOptional({
    description:
      'A URL that receives the terminal result (`research.completed`, `research.failed` or `research.cancelled`) ' +
      'as a signed JSON POST: the body is `{id, event, created_at, research}` with `research` as `GET ' +
      '/api/v1/research/{id}` answers it, and `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` ' +
      "keyed by the tenant's webhook secret. http or https only; an address that is private, loopback, link-local " +
      '(cloud metadata) or otherwise not public is refused unless listed in `WEBHOOK_ALLOWED_HOSTS`. A failed ' +
      'delivery is retried with exponential backoff for `WEBHOOK_RETRY_SECONDS`. With `review_plan`, it also ' +
      'receives `plan.awaiting_review` when the plan waits for review. See docs/webhooks.md.',
    maxLength: CALLBACK_URL_MAX_LENGTH,
    example: 'https://hooks.example.com/research',
  })
  @ValidateIf(present)
  @MaxLength(CALLBACK_URL_MAX_LENGTH)
  @IsString()
  callback_url?: string;

  @ApiPropertyOptional({
    description:
      'Stop after planning, in status `awaiting_review`, before any source is searched or read: the plan is in ' +
      'the `plan.awaiting_review` event. `POST /api/v1/research/{id}/plan` accepts it as is or edited and the ' +
      'research continues; one that waits longer than `PLAN_REVIEW_TIMEOUT_SECONDS` is cancelled. Needs the LLM ' +
      'engine (`LLM_BASE_URL`): with the extractive engine, which makes no plan, `true` is a 400.',
    default: false,
    example: false,
  })
  @ValidateIf(present)
  @IsBoolean()
  review_plan: boolean = false;
}

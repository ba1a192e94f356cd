import { ApiProperty } from '@nestjs/swagger';

/** OpenAPI descriptions of the result document (see `ResearchResult`). */
export class ResearchSourceDto {
  @ApiProperty({ description: 'The number used in `[n]` citations.', example: 1 })
  n: number;

  @ApiProperty({ enum: ['document', 'web'] })
  kind: string;

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
  @ApiProperty({ description: 'The `n` of the source.' })
  source: number;

  @ApiProperty({ description: 'Verbatim text of the source.' })
  quote: string;

  @ApiProperty({ description: 'Offset of the quote in the source text (UTF-16 code units).' })
  start: number;

  @ApiProperty()
  end: number;

  @ApiProperty({ description: 'Relevance to the question.' })
  score: number;
}

export class ResearchClaimDto {
  @ApiProperty()
  text: string;

  @ApiProperty({ enum: ['supported', 'contradicted', 'unverified'] })
  label: string;

  @ApiProperty({ type: [Number] })
  sources: number[];
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

  @ApiProperty({ description: 'True when a budget ran out and the report uses what was gathered.' })
  partial: boolean;

  @ApiProperty({ type: [ResearchSourceDto] })
  sources: ResearchSourceDto[];

  @ApiProperty({ type: [ResearchFindingDto] })
  findings: ResearchFindingDto[];

  @ApiProperty({ type: [ResearchClaimDto] })
  claims: ResearchClaimDto[];

  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' } })
  stats: Record<string, number>;
}

export class ResearchFailureDto {
  @ApiProperty({ example: 'runner_failed' })
  code: string;

  @ApiProperty()
  message: string;
}

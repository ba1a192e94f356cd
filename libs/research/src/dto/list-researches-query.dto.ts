import { present } from '@app/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsString, Length, Max, Min, ValidateIf } from 'class-validator';
import { RESEARCH_STATUSES, ResearchStatus } from '../research-status';

/** Query strings arrive as text; only plain decimal integers are taken as numbers. */
const toInteger = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;

export class ListResearchesQueryDto {
  @ApiPropertyOptional({ description: 'Page size.', minimum: 1, maximum: 100, default: 20 })
  @ValidateIf(present)
  @Transform(toInteger)
  @Max(100)
  @Min(1)
  @IsInt()
  limit: number = 20;

  @ApiPropertyOptional({ description: 'The `next_cursor` of the previous page.' })
  @ValidateIf(present)
  @Length(1, 512)
  @IsString()
  cursor?: string;

  @ApiPropertyOptional({ description: 'Only researches in this status.', enum: ResearchStatus })
  @ValidateIf(present)
  @IsIn(RESEARCH_STATUSES)
  status?: ResearchStatus;
}

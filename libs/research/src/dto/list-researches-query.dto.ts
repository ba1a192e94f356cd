import { PageQueryDto, present } from '@app/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, ValidateIf } from 'class-validator';
import { RESEARCH_STATUSES, ResearchStatus } from '../research-status';

export class ListResearchesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only researches in this status.', enum: ResearchStatus })
  @ValidateIf(present)
  @IsIn(RESEARCH_STATUSES)
  status?: ResearchStatus;
}

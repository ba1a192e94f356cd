import { present } from '@app/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNumber, Max, Min, ValidateIf } from 'class-validator';

/** Per-request limits; each defaults to the configured budget and may not exceed its maximum. */
export class ResearchBudgetRequestDto {
  @ApiPropertyOptional({
    description: 'LLM tokens (prompt and completion) the research may use.',
    minimum: 1000,
    example: 100000,
  })
  @ValidateIf(present)
  @Max(100_000_000)
  @Min(1000)
  @IsInt()
  max_tokens?: number;

  @ApiPropertyOptional({
    description:
      'Estimated LLM cost in USD, from the prices in LLM_PRICES. A model without a price costs 0, so for a ' +
      'research using one this limit is not enforced; the result says so in usage.budget.cost_enforced.',
    minimum: 0,
    example: 0.5,
  })
  @ValidateIf(present)
  @Max(10_000)
  @Min(0)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  max_cost_usd?: number;

  @ApiPropertyOptional({ description: 'LLM calls.', minimum: 1, example: 40 })
  @ValidateIf(present)
  @Max(100_000)
  @Min(1)
  @IsInt()
  max_llm_calls?: number;

  @ApiPropertyOptional({
    description:
      'Wall-clock seconds from the first start, not counting time spent waiting to run again (handed back ' +
      'during an LLM outage or a shutdown, failed before a retry).',
    minimum: 5,
    example: 300,
  })
  @ValidateIf(present)
  @Max(86_400)
  @Min(5)
  @IsInt()
  max_seconds?: number;
}

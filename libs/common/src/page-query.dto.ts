import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsString, Length, Max, Min, ValidateIf } from 'class-validator';
import { present } from './validators';

/** Query strings arrive as text; only plain decimal integers are taken as numbers. */
const toInteger = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;

/** The query of every list endpoint: a page size and the cursor of the page before. */
export class PageQueryDto {
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
}

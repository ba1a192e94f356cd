import { OptionalBody, present } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsObject,
  IsString,
  Length,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  PLAN_MAX_QUERIES,
  PLAN_MAX_SUB_QUESTIONS,
  PLAN_QUERY_MAX_LENGTH,
  PLAN_QUESTION_MAX_LENGTH,
  ResearchPlan,
} from '../research-plan';

const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const eachTrimmed = ({ value }: { value: unknown }) =>
  Array.isArray(value) ? value.map((item: unknown) => (typeof item === 'string' ? item.trim() : item)) : value;

export class ReviewedSubQuestionDto {
  @ApiProperty({
    description: `The sub-question, 1 to ${PLAN_QUESTION_MAX_LENGTH} characters after trimming.`,
    minLength: 1,
    maxLength: PLAN_QUESTION_MAX_LENGTH,
    example: 'Which suppliers shipped HBM3E in 2024?',
  })
  @Transform(trimmed)
  @Length(1, PLAN_QUESTION_MAX_LENGTH)
  @IsString()
  question: string;

  @ApiProperty({
    description: `What to search for it: 1 to ${PLAN_MAX_QUERIES} queries of 1 to ${PLAN_QUERY_MAX_LENGTH} characters.`,
    type: [String],
    minItems: 1,
    maxItems: PLAN_MAX_QUERIES,
    example: ['HBM3E suppliers 2024'],
  })
  @Transform(eachTrimmed)
  @Length(1, PLAN_QUERY_MAX_LENGTH, { each: true })
  @IsString({ each: true })
  @ArrayMaxSize(PLAN_MAX_QUERIES)
  @ArrayMinSize(1)
  @IsArray()
  queries: string[];
}

/** `POST /api/v1/research/{id}/plan`: the plan as reviewed; without `sub_questions`, the plan as it was made. */
@OptionalBody()
export class ReviewPlanRequestDto {
  @ApiPropertyOptional({
    type: [ReviewedSubQuestionDto],
    minItems: 1,
    maxItems: PLAN_MAX_SUB_QUESTIONS,
    description:
      `The plan to search, in place of the one made: 1 to ${PLAN_MAX_SUB_QUESTIONS} sub-questions, each with its ` +
      'queries. The question itself is always searched too. Omitted: the plan is accepted as it was made.',
  })
  @ValidateIf(present)
  @ValidateNested({ each: true })
  @IsObject({ each: true })
  @Type(() => ReviewedSubQuestionDto)
  @ArrayMaxSize(PLAN_MAX_SUB_QUESTIONS)
  @ArrayMinSize(1)
  @IsArray()
  sub_questions?: ReviewedSubQuestionDto[];

  /** The edited plan, or null to accept the plan as it was made. */
  static planOf(body: ReviewPlanRequestDto): ResearchPlan | null {
    if (!body.sub_questions) return null;
    return {
      subQuestions: body.sub_questions.map(({ question, queries }) => ({ question, queries: [...new Set(queries)] })),
    };
  }
}

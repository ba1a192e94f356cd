import { ApiProperty } from '@nestjs/swagger';
import { ResearchStatus, RESEARCH_STATUSES } from '../research-status';
import type { ShownPlan } from '../research.service';
import { planJson } from '../research-plan';

export class PlannedSubQuestionDto {
  @ApiProperty({ example: 'Which suppliers shipped HBM3E in 2024?' })
  question: string;

  @ApiProperty({ type: [String], example: ['HBM3E suppliers 2024'] })
  queries: string[];
}

/** `GET /api/v1/research/{id}/plan`: the body `POST …/plan` takes, and what it is for. */
export class ResearchPlanResponseDto {
  @ApiProperty({ format: 'uuid' })
  research_id: string;

  @ApiProperty({ enum: RESEARCH_STATUSES, example: 'awaiting_review' })
  status: ResearchStatus;

  @ApiProperty({
    description:
      'True once the plan was accepted or edited through `POST …/plan`: what the research searches. False for ' +
      'the plan as the planner made it, awaiting review or searched without one.',
  })
  reviewed: boolean;

  @ApiProperty({
    description: 'Planning failed: the plan shown is the question itself, for the reviewer to replace.',
  })
  fallback: boolean;

  @ApiProperty({ type: [PlannedSubQuestionDto] })
  sub_questions: PlannedSubQuestionDto[];

  static from(shown: ShownPlan): ResearchPlanResponseDto {
    return {
      research_id: shown.research.id,
      status: shown.research.status,
      reviewed: shown.reviewed,
      fallback: shown.fallback,
      ...planJson(shown.plan),
    };
  }
}

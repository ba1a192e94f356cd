export { CreateResearchRequestDto } from './dto/create-research-request.dto';
export { ReviewPlanRequestDto } from './dto/review-plan-request.dto';
export { ResearchPlanResponseDto } from './dto/research-plan.dto';
export { canonicalLanguageTag } from './dto/language-tag';
export { ListResearchesQueryDto } from './dto/list-researches-query.dto';
export {
  ResearchAcceptedResponseDto,
  ResearchListResponseDto,
  ResearchResponseDto,
  ResearchSummaryDto,
} from './dto/research-response.dto';
export {
  ResearchSourceListResponseDto,
  ResearchSourceSnapshotDto,
  ResearchSourceSummaryDto,
} from './dto/research-source.dto';
export { ResearchExecutionService, ResearchFailedError } from './execution/research-execution.service';
export type { ExecutionOutcome, JobAttempt } from './execution/research-execution.service';
export { ResearchReconciler } from './execution/research.reconciler';
export { ResearchEntity } from './persistence/research.entity';
export type { ResearchView } from './persistence/research.repository';
export { RESEARCH_QUEUE, ResearchJobName } from './queue/research-queue';
export type { RunResearchJob } from './queue/research-queue';
export { ResearchIntake } from './queue/research-intake';
export type { IntakeHold } from './queue/research-intake';
export { ResearchQueueProducer } from './queue/research-queue.producer';
export { QueueReadinessCheck } from './queue/queue.readiness-check';
export { EVENT_TYPES, ResearchEventType, RunEventType } from './research-event-type';
export { ResearchExecutionModule } from './research-execution.module';
export {
  MAX_SOURCES_LIMIT,
  QUESTION_MAX_LENGTH,
  RESEARCH_DEFAULTS,
  SOURCE_CHOICES,
  sourcesOf,
} from './research-params';
export type { ResearchBudget, ResearchParams } from './research-params';
export {
  PLAN_MAX_QUERIES,
  PLAN_MAX_SUB_QUESTIONS,
  PLAN_STEP,
  REVIEWED_PLAN_STEP,
  planJson,
  questionPlan,
} from './research-plan';
export type { ResearchPlan } from './research-plan';
export type {
  ClaimLabel,
  ResearchClaim,
  ResearchFailure,
  ResearchFinding,
  ResearchResult,
  ResearchRound,
  ResearchSource,
  ResearchUsage,
  ToolUsage,
  UsageEntry,
} from './research-result';
export { ResearchRunner } from './research-runner';
export { resultSource } from './research-source';
export type { CompletedStep, ResearchRunContext, ResearchTask, StoredSource } from './research-runner';
export { RESEARCH_STATUSES, ResearchStatus, canTransition, isTerminal } from './research-status';
export {
  IdempotencyKeyReusedError,
  PlanReviewRequiredError,
  ResearchNotAwaitingReviewError,
  ResearchNotCancellableError,
  ResearchNotRedeliverableError,
  ResearchNotRetryableError,
  ResearchStoppedError,
  StopReason,
} from './research.errors';
export { ResearchModule } from './research.module';
export { ResearchService } from './research.service';
export type { CreateResearchCommand, ListResearchesQuery, ShownPlan } from './research.service';
export { ResearchEventsService } from './events/research-events.service';
export type { StreamItem, StreamedEvent } from './events/research-events.service';
export { DeliveryService } from './delivery/delivery.service';
export { WebhookDeliverer } from './delivery/webhook-deliverer';
export type { DeliveryJobOutcome } from './delivery/webhook-deliverer';
export { WEBHOOK_QUEUE, WebhookJobName } from './delivery/webhook-queue';
export type { DeliverWebhookJob } from './delivery/webhook-queue';
export { signatureHeader, verifySignature } from './delivery/webhook-signature';
export {
  DeliveryAttemptDto,
  ResearchDeliveryDto,
  ResearchDeliveryListResponseDto,
  WebhookSecretResponseDto,
} from './dto/research-delivery.dto';
export { WebhookSecretModule } from './delivery/webhook-secret.module';
export { WebhookSecretRepository } from './delivery/webhook-secret.repository';

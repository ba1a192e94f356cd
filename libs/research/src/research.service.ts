import { createHash, randomUUID } from 'node:crypto';
import { DomainError, ErrorCode, NotFoundError, ValidationError, decodeCursor, encodeCursor } from '@app/common';
import { AppConfig, SearchProviderName } from '@app/config';
import { UnitOfWork } from '@app/database';
import { Metric } from '@app/observability';
import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { ResearchBudget, ResearchParams } from './research-params';
import { ResearchStatus } from './research-status';
import {
  IdempotencyKeyReusedError,
  ResearchNotAwaitingReviewError,
  ResearchNotCancellableError,
  ResearchNotRetryableError,
} from './research.errors';
import { PLAN_STEP, REVIEWED_PLAN_STEP, ResearchPlan, questionPlan, samePlan } from './research-plan';
import { ResearchEntity } from './persistence/research.entity';
import {
  IdempotencyConflict,
  ResearchRepository,
  ResearchView,
  StoredSourceSummary,
} from './persistence/research.repository';
import { StoredSource } from './research-runner';
import { ResearchQueueProducer } from './queue/research-queue.producer';
import { DeliveryService } from './delivery/delivery.service';

export interface CreateResearchCommand {
  tenantId: string;
  question: string;
  params: Omit<ResearchParams, 'budget' | 'sources' | 'depth' | 'reviewPlan' | 'callbackUrl'>;
  /** Where the terminal result is to be delivered; checked against the outbound guard. */
  callbackUrl?: string;
  /** Rounds asked for; the configured default when absent. */
  depth?: number;
  /** Wait for the plan to be reviewed before searching (deep engine only). */
  reviewPlan?: boolean;
  /** Limits asked for; the rest take the configured defaults. */
  budget?: Partial<ResearchBudget>;
  /** Providers asked for (`SOURCE_CHOICES`); every configured one when absent. */
  sources?: readonly string[];
  requestId: string | null;
  idempotencyKey: string | null;
}

export interface CreateResearchOutcome {
  research: ResearchEntity;
  /** True when an earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

/** A research's plan, as `GET /api/v1/research/{id}/plan` shows it. */
export interface ShownPlan {
  research: ResearchView;
  plan: ResearchPlan;
  /** Accepted or edited through a review: what the research searches. */
  reviewed: boolean;
  /** Planning failed: the plan is the question itself. */
  fallback: boolean;
}

export interface ListResearchesQuery {
  tenantId: string;
  limit: number;
  cursor?: string;
  status?: ResearchStatus;
}

export interface ResearchList {
  items: ResearchEntity[];
  nextCursor: string | null;
}

@Injectable()
export class ResearchService {
  private readonly logger = new Logger(ResearchService.name);

  constructor(
    private readonly repository: ResearchRepository,
    private readonly unitOfWork: UnitOfWork,
    private readonly producer: ResearchQueueProducer,
    private readonly deliveries: DeliveryService,
    private readonly config: AppConfig,
    @InjectMetric(Metric.Submitted) private readonly submitted: Counter<string>,
  ) {}

  /**
   * Stores the research, then queues it once the transaction that stored it has committed (the
   * caller's, when it opened one): a worker never gets a job whose research it cannot read yet,
   * and a research rolled back is never queued. It resolves once the research is stored, without
   * waiting for the job to be added: once stored it is never lost, even if Redis is down, since
   * the reconciler queues it later.
   */
  async create(command: CreateResearchCommand): Promise<CreateResearchOutcome> {
    const params: ResearchParams = {
      ...command.params,
      budget: this.resolveBudget(command.budget ?? {}),
      sources: this.resolveSources(command.sources),
      depth: this.resolveDepth(command.depth),
      ...this.resolveReviewPlan(command.reviewPlan),
      ...(command.callbackUrl !== undefined
        ? { callbackUrl: await this.deliveries.checkCallbackUrl(command.callbackUrl) }
        : {}),
    };
    const idempotencyHash = command.idempotencyKey ? requestHash(command.question, params) : null;
    return this.unitOfWork.run(async () => {
      if (command.idempotencyKey) {
        const existing = await this.repository.findByIdempotencyKey(command.tenantId, command.idempotencyKey);
        if (existing) return this.replayed(existing, idempotencyHash);
      }

      const inserted = await this.repository.insert({
        id: randomUUID(),
        tenantId: command.tenantId,
        question: command.question,
        params,
        requestId: command.requestId,
        idempotencyKey: command.idempotencyKey,
        idempotencyHash,
        createdAt: new Date(),
      });
      if (inserted instanceof IdempotencyConflict) return this.replayed(inserted.existing, idempotencyHash);

      this.unitOfWork.afterCommit(() => {
        // Stored with its record: the caller is answered now, without waiting for Redis, and
        // the job follows (or the reconciler adds it).
        this.logger.log({ research_id: inserted.id }, 'research accepted');
        this.producer.enqueueSoon(
          { researchId: inserted.id, tenantId: inserted.tenantId, requestId: command.requestId },
          (enqueued) => this.submitted.inc({ outcome: enqueued ? 'accepted' : 'enqueue_deferred' }),
        );
      });
      return { research: inserted, replayed: false };
    });
  }

  async get(tenantId: string, id: string): Promise<ResearchView> {
    const research = await this.repository.findView(tenantId, id);
    if (!research) throw new NotFoundError('research', id);
    return research;
  }

  /** The sources a research read, without their text. */
  async listSources(tenantId: string, id: string): Promise<StoredSourceSummary[]> {
    const sources = await this.repository.listSourceSummaries(tenantId, id);
    if (sources.length === 0) await this.get(tenantId, id);
    return sources;
  }

  /** The snapshot of one source of a research: the text its quotes are checked against. */
  async getSource(tenantId: string, id: string, n: number): Promise<StoredSource> {
    const source = await this.repository.findSource(tenantId, id, n);
    if (source) return source;
    await this.get(tenantId, id);
    throw new DomainError(ErrorCode.NotFound, `research ${id} has no source ${n}`, { research_id: id, n }, false);
  }

  async list(query: ListResearchesQuery): Promise<ResearchList> {
    const page = await this.repository.list(query.tenantId, {
      limit: query.limit,
      status: query.status,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    const last = page.items.at(-1);
    return { items: page.items, nextCursor: page.hasMore && last ? encodeCursor(last) : null };
  }

  /**
   * Cancels a pending, running or awaiting-review research. A running one stops at its next
   * step: the worker sees the status. Cancelling a cancelled research again is answered with it,
   * unchanged.
   */
  async cancel(tenantId: string, id: string): Promise<ResearchView> {
    return this.unitOfWork.run(async () => {
      const cancelled = await this.repository.cancel(tenantId, id);
      if (cancelled) {
        this.unitOfWork.afterCommit(async () => {
          // A pending job would only be skipped by the worker; take it off the queue now.
          await this.producer.removeIdle(id).catch((error: Error) => {
            this.logger.warn(`could not remove the job of cancelled research ${id}: ${error.message}`);
          });
          this.logger.log({ research_id: id }, 'research cancelled');
          await this.deliveries.dispatch(tenantId, id);
        });
        return cancelled;
      }
      const current = await this.get(tenantId, id);
      if (current.status === ResearchStatus.Cancelled) return current;
      throw new ResearchNotCancellableError(id, current.status);
    });
  }

  /**
   * Runs a failed research again from its checkpoints: the steps it finished are not paid for
   * again. Its failure, runs and time spent failed are forgiven. Only a failed research. It is
   * queued again once that is committed.
   */
  async retry(tenantId: string, id: string): Promise<ResearchEntity> {
    return this.unitOfWork.run(async () => {
      const retried = await this.repository.retry(tenantId, id);
      if (!retried) {
        const current = await this.get(tenantId, id);
        throw new ResearchNotRetryableError(id, current.status);
      }
      this.unitOfWork.afterCommit(async () => {
        // The failed job keeps its id in the queue: take it off so the new one can be added.
        await this.producer.removeIdle(id).catch((error: Error) => {
          this.logger.warn(`could not remove the failed job of research ${id}: ${error.message}`);
        });
        const enqueued = await this.producer.enqueue({ researchId: id, tenantId, requestId: retried.requestId });
        this.logger.log({ research_id: id, enqueued }, 'research retried');
      });
      return retried;
    });
  }

  /**
   * The plan a research searches or will search: the reviewed one once it has it, else the one
   * made (the question itself, for review, when planning failed). Not found before planning, and
   * for a research of the extractive engine, which makes no plan.
   */
  async getPlan(tenantId: string, id: string): Promise<ShownPlan> {
    const research = await this.get(tenantId, id);
    const reviewed = (await this.repository.findStepData(tenantId, id, REVIEWED_PLAN_STEP)) as ResearchPlan | undefined;
    if (reviewed) return { research, plan: reviewed, reviewed: true, fallback: false };
    const made = (await this.repository.findStepData(tenantId, id, PLAN_STEP)) as ResearchPlan | undefined;
    const planned = made !== undefined && made.subQuestions.length > 0;
    if (planned) return { research, plan: made, reviewed: false, fallback: false };
    if (research.status === ResearchStatus.AwaitingReview) {
      return { research, plan: questionPlan(research.question), reviewed: false, fallback: true };
    }
    throw new DomainError(ErrorCode.NotFound, `research ${id} has no plan`, { id, status: research.status }, false);
  }

  /**
   * Takes the plan of a research awaiting review, as it was made (`edited` null) or edited, and
   * queues the research again: its next run searches that plan without planning again. The plan
   * and the move back to `pending` are stored together; the job is queued once they are committed.
   */
  async reviewPlan(tenantId: string, id: string, edited: ResearchPlan | null): Promise<ResearchEntity> {
    return this.unitOfWork.run(async () => {
      const current = await this.get(tenantId, id);
      if (current.status !== ResearchStatus.AwaitingReview)
        throw new ResearchNotAwaitingReviewError(id, current.status);
      // The plan shown for review: the planner's step, or the question when planning failed.
      const made = ((await this.repository.findStepData(tenantId, id, PLAN_STEP)) ??
        questionPlan(current.question)) as ResearchPlan;
      const plan = edited ?? made;
      const changed = edited !== null && !samePlan(edited, made);
      const reviewed = await this.repository.continueAfterReview(tenantId, id, plan, changed);
      if (!reviewed) {
        // Cancelled, or its review timed out, since it was read.
        const now = await this.get(tenantId, id);
        throw new ResearchNotAwaitingReviewError(id, now.status);
      }
      this.unitOfWork.afterCommit(async () => {
        // The job that planned it may still hold its id in the queue: take it off first. Should it
        // still be finishing, the add is ignored and the reconciler queues the research.
        await this.producer.removeIdle(id).catch((error: Error) => {
          this.logger.warn(`could not remove the planning job of research ${id}: ${error.message}`);
        });
        const enqueued = await this.producer.enqueue({ researchId: id, tenantId, requestId: reviewed.requestId });
        this.logger.log(
          { research_id: id, edited: changed, sub_questions: plan.subQuestions.length, enqueued },
          'plan reviewed; research continues',
        );
      });
      return reviewed;
    });
  }

  /** The request's limits over the defaults, refused above the configured maxima. */
  private resolveBudget(requested: Partial<ResearchBudget>): ResearchBudget {
    const budget = { ...this.config.budgetDefaults, ...withoutUndefined(requested) };
    const problems = (Object.keys(BUDGET_FIELDS) as (keyof ResearchBudget)[])
      .filter((key) => budget[key] > this.config.budgetMaxima[key])
      .map((key) => ({
        field: BUDGET_FIELDS[key].field,
        message: `${BUDGET_FIELDS[key].field} must not be greater than ${this.config.budgetMaxima[key]} (${BUDGET_FIELDS[key].variable})`,
      }));
    if (problems.length > 0) throw new ValidationError(problems.map((p) => p.message).join('; '), problems);
    return budget;
  }

  private resolveDepth(requested: number | undefined): number {
    const { depth } = this.config;
    if (requested === undefined) return depth.default;
    if (requested > depth.max) {
      const message = `depth must not be greater than ${depth.max} (RESEARCH_DEPTH_MAX)`;
      throw new ValidationError(message, [{ field: 'depth', message }]);
    }
    return requested;
  }

  /** Only the deep engine makes a plan to review; the extractive one runs with no LLM. */
  private resolveReviewPlan(requested: boolean | undefined): Pick<ResearchParams, 'reviewPlan'> {
    if (!requested) return {};
    if (this.config.llm === null) {
      const message =
        'review_plan needs the LLM engine (LLM_BASE_URL is not set): the extractive engine makes no plan to review';
      throw new ValidationError(message, [{ field: 'review_plan', message }]);
    }
    return { reviewPlan: true };
  }

  /**
   * The configured providers the request names, in the configured order: `web` stands for every
   * web engine. A provider that is not configured is refused, not silently dropped.
   */
  private resolveSources(requested: readonly string[] | undefined): SearchProviderName[] {
    const configured = this.config.search.providers;
    if (!requested) return [...configured];
    const problems = requested
      .filter((name) =>
        name === 'web' ? !configured.some((p) => p !== 'corpus') : !configured.includes(name as never),
      )
      .map((name) => ({
        field: 'sources',
        message:
          name === 'web'
            ? `sources: no web search engine is configured (SEARCH_PROVIDERS=${configured.join(',')})`
            : `sources: ${name} is not configured (SEARCH_PROVIDERS=${configured.join(',')})`,
      }));
    if (problems.length > 0) throw new ValidationError(problems.map((p) => p.message).join('; '), problems);
    return configured.filter((name) => requested.includes(name) || (name !== 'corpus' && requested.includes('web')));
  }

  private replayed(existing: ResearchEntity, hash: string | null): CreateResearchOutcome {
    if (existing.idempotencyHash !== hash) throw new IdempotencyKeyReusedError(existing.id);
    this.unitOfWork.afterCommit(() => this.submitted.inc({ outcome: 'replayed' }));
    return { research: existing, replayed: true };
  }
}

/**
 * The hash of what a request asks for, after defaults: same request, same hash. `review_plan` and
 * `callback_url` are hashed only when asked for, so that a request without them hashes as it did
 * before they existed.
 */
function requestHash(question: string, params: ResearchParams): string {
  const { maxSources, verify, language, budget, sources, depth, reviewPlan, callbackUrl } = params;
  const asked: unknown[] = [question, maxSources, verify, language, budget, sources, depth];
  if (reviewPlan) asked.push({ reviewPlan });
  if (callbackUrl) asked.push({ callbackUrl });
  return createHash('sha256').update(JSON.stringify(asked)).digest('hex');
}

const BUDGET_FIELDS: Record<keyof ResearchBudget, { field: string; variable: string }> = {
  tokens: { field: 'budget.max_tokens', variable: 'RESEARCH_BUDGET_TOKENS_MAX' },
  costUsd: { field: 'budget.max_cost_usd', variable: 'RESEARCH_BUDGET_COST_USD_MAX' },
  llmCalls: { field: 'budget.max_llm_calls', variable: 'RESEARCH_BUDGET_LLM_CALLS_MAX' },
  seconds: { field: 'budget.max_seconds', variable: 'RESEARCH_BUDGET_SECONDS_MAX' },
};

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

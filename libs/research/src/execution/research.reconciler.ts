import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@app/common';
import { AppConfig } from '@app/config';
import { Metric } from '@app/observability';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { ResearchEventType } from '../research-event-type';
import { ResearchStatus } from '../research-status';
import { ResearchRepository, UnfinishedResearch } from '../persistence/research.repository';
import { ResearchJobState } from '../queue/research-queue';
import { ResearchQueueProducer } from '../queue/research-queue.producer';
import { DeliveryService } from '../delivery/delivery.service';
import { WebhookDeliverer } from '../delivery/webhook-deliverer';

const BATCH_SIZE = 500;

/** Job states in which the queue will still run the research without help. */
const LIVE_STATES: readonly ResearchJobState[] = ['waiting', 'active', 'delayed', 'paused'];

/**
 * Puts back on the queue every research that PostgreSQL says is unfinished but that no job will
 * run: pending ones whose job was lost (Redis flushed, enqueue failed, job handed back) and
 * running ones whose worker died; and the webhook deliveries whose job was lost. A research
 * awaiting its plan review has no job by design and is left alone, until it has waited longer
 * than PLAN_REVIEW_TIMEOUT_SECONDS: then it is cancelled. One replica runs each pass, chosen by a
 * Redis lease.
 */
@Injectable()
export class ResearchReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ResearchReconciler');
  private readonly owner = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<unknown> | undefined;

  constructor(
    private readonly repository: ResearchRepository,
    private readonly producer: ResearchQueueProducer,
    private readonly deliverer: WebhookDeliverer,
    private readonly deliveries: DeliveryService,
    private readonly config: AppConfig,
    @InjectMetric(Metric.Requeued) private readonly requeuedTotal: Counter<string>,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.reconcileIntervalMs);
    this.timer.unref();
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.pass;
  }

  private async tick(): Promise<void> {
    if (this.pass) return;
    this.pass = this.runPass();
    try {
      await this.pass;
    } catch (error) {
      this.logger.warn({ err: error }, 'reconciliation pass failed; will try again');
    } finally {
      this.pass = undefined;
    }
  }

  /**
   * One pass, if this replica holds the lease for this interval. Returns how many researches were
   * re-queued, and how many were cancelled because their plan review timed out.
   */
  async runPass(): Promise<{ requeued: number; reviewsTimedOut: number }> {
    const ttl = Math.max(100, Math.floor(this.config.reconcileIntervalMs * 0.9));
    if (!(await this.producer.tryLease('reconciler', this.owner, ttl))) return { requeued: 0, reviewsTimedOut: 0 };

    const unfinished = await this.repository.findUnfinishedAcrossTenants(this.config.reconcileGraceMs, BATCH_SIZE);
    let requeued = 0;
    for (const research of unfinished) {
      if (await this.reconcile(research)) requeued += 1;
    }
    if (requeued > 0) this.logger.warn({ requeued, scanned: unfinished.length }, 'researches put back on the queue');
    const reviewsTimedOut = await this.cancelOverdueReviews();
    await this.deliverer.sweep();
    return { requeued, reviewsTimedOut };
  }

  /** Cancels the researches whose plan has waited for its review longer than PLAN_REVIEW_TIMEOUT_SECONDS. */
  private async cancelOverdueReviews(): Promise<number> {
    const timeoutMs = this.config.planReviewTimeoutMs;
    const overdue = await this.repository.findAwaitingReviewAcrossTenants(timeoutMs, BATCH_SIZE);
    const error = {
      code: ErrorCode.PlanReviewTimeout,
      message:
        `the plan waited for review longer than ${timeoutMs / 1000} s (PLAN_REVIEW_TIMEOUT_SECONDS) ` +
        'and the research was cancelled',
    };
    let cancelled = 0;
    for (const research of overdue) {
      // Still only if it waits that long: a plan accepted meanwhile wins.
      const done = await this.repository.cancel(research.tenantId, research.id, {
        error,
        awaitingReviewForMs: timeoutMs,
      });
      if (!done) continue;
      cancelled += 1;
      await this.deliveries.dispatch(research.tenantId, research.id);
      this.logger.log(
        { research_id: research.id, request_id: research.requestId, timeout_s: timeoutMs / 1000 },
        'plan review timed out; research cancelled',
      );
    }
    return cancelled;
  }

  private async reconcile(research: UnfinishedResearch): Promise<boolean> {
    let state = await this.producer.jobState(research.id);
    // Bull reads a job's state in several steps: a job moving from waiting to active meanwhile
    // reads as stuck. Read it again before taking it for lost.
    if (state === 'stuck') state = await this.producer.jobState(research.id);
    if (LIVE_STATES.includes(state)) return false;
    // A finished or orphaned job keeps its id taken: remove it so the new one can be added.
    if (state !== 'missing') await this.producer.removeIdle(research.id);
    const enqueued = await this.producer.enqueue({
      researchId: research.id,
      tenantId: research.tenantId,
      requestId: research.requestId,
    });
    if (!enqueued) return false;
    await this.repository.appendSystemEvent(research.tenantId, research.id, ResearchEventType.Requeued, {
      status: research.status,
      job_state: state,
    });
    this.requeuedTotal.inc({ status: research.status });
    this.logger.log(
      { research_id: research.id, status: research.status, job_state: state },
      research.status === ResearchStatus.Running
        ? 'running research with expired lease re-queued'
        : 'pending research re-queued',
    );
    return true;
  }
}

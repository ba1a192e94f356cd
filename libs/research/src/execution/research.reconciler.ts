import { randomUUID } from 'node:crypto';
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
import { WebhookDeliverer } from '../delivery/webhook-deliverer';

const BATCH_SIZE = 500;

/** Job states in which the queue will still run the research without help. */
const LIVE_STATES: readonly ResearchJobState[] = ['waiting', 'active', 'delayed', 'paused'];

/**
 * Puts back on the queue every research that PostgreSQL says is unfinished but that no job will
 * run: pending ones whose job was lost (Redis flushed, enqueue failed, job handed back) and
 * running ones whose worker died; and the webhook deliveries whose job was lost. One replica runs
 * each pass, chosen by a Redis lease.
 */
@Injectable()
export class ResearchReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ResearchReconciler');
  private readonly owner = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<number> | undefined;

  constructor(
    private readonly repository: ResearchRepository,
    private readonly producer: ResearchQueueProducer,
    private readonly deliverer: WebhookDeliverer,
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

  /** One pass, if this replica holds the lease for this interval. Returns how many were re-queued. */
  async runPass(): Promise<number> {
    const ttl = Math.max(100, Math.floor(this.config.reconcileIntervalMs * 0.9));
    if (!(await this.producer.tryLease('reconciler', this.owner, ttl))) return 0;

    const unfinished = await this.repository.findUnfinishedAcrossTenants(this.config.reconcileGraceMs, BATCH_SIZE);
    let requeued = 0;
    for (const research of unfinished) {
      if (await this.reconcile(research)) requeued += 1;
    }
    if (requeued > 0) this.logger.warn({ requeued, scanned: unfinished.length }, 'researches put back on the queue');
    await this.deliverer.sweep();
    return requeued;
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

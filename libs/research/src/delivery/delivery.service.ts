import { randomUUID } from 'node:crypto';
import { NotFoundError, TIMED_OUT, ValidationError, withinMs } from '@app/common';
import { UnitOfWork } from '@app/database';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Queue } from 'bull';
import { ResearchEventType } from '../research-event-type';
import { ResearchStatus } from '../research-status';
import { ResearchNotRedeliverableError } from '../research.errors';
import { ResearchRepository } from '../persistence/research.repository';
import { Delivery, DeliveryRepository, DeliveryWithAttempts, DueDelivery } from './delivery.repository';
import { DeliverWebhookJob, WEBHOOK_QUEUE, WebhookJobName, webhookJobId } from './webhook-queue';
import { WebhookSecretRepository } from './webhook-secret.repository';
import { WebhookSender } from './webhook-sender';

/** The event each ended status is delivered as. */
const TERMINAL_EVENTS: Partial<Record<ResearchStatus, ResearchEventType>> = {
  [ResearchStatus.Completed]: ResearchEventType.Completed,
  [ResearchStatus.Failed]: ResearchEventType.Failed,
  [ResearchStatus.Cancelled]: ResearchEventType.Cancelled,
};

const ENQUEUE_TIMEOUT_MS = 2000;

/**
 * Webhooks as the api and the worker both see them: callback URLs checked when a research is
 * submitted, the delivery log, deliveries asked for again, and the queueing of pending ones (the
 * statement that ends a research stores its delivery; this queues it once that is committed, and
 * the sweep queues whatever was missed).
 */
@Injectable()
export class DeliveryService implements OnModuleInit {
  private readonly logger = new Logger('WebhookDelivery');

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly secrets: WebhookSecretRepository,
    private readonly researches: ResearchRepository,
    private readonly unitOfWork: UnitOfWork,
    private readonly sender: WebhookSender,
    @InjectQueue(WEBHOOK_QUEUE) private readonly queue: Queue<DeliverWebhookJob>,
  ) {}

  onModuleInit(): void {
    this.queue.on('error', (error) => this.logger.warn(`webhook queue: ${error.message}`));
  }

  /**
   * The callback URL of a new research, if it may be delivered to: http(s), no credentials, and a
   * host whose addresses pass the outbound guard now (the delivery checks them again).
   */
  async checkCallbackUrl(candidate: string): Promise<string> {
    const url = await this.sender.guard.checkResolved(candidate);
    if (url instanceof URL) return url.href;
    const message = `callback_url: ${url.message}`;
    throw new ValidationError(message, [{ field: 'callback_url', message }]);
  }

  /** The tenant's webhook signing secret, made on first use. */
  secretOf(tenantId: string): Promise<string> {
    return this.secrets.secretOf(tenantId);
  }

  /** A new signing secret for the tenant: every delivery from now on is signed with it. */
  async rotateSecret(tenantId: string): Promise<string> {
    const secret = await this.secrets.rotateSecret(tenantId);
    this.logger.log({ tenant_id: tenantId }, 'webhook secret rotated');
    return secret;
  }

  /** The deliveries of a research and every attempt of each. */
  async list(tenantId: string, researchId: string): Promise<DeliveryWithAttempts[]> {
    const deliveries = await this.deliveries.list(tenantId, researchId);
    if (deliveries.length === 0 && !(await this.researches.findView(tenantId, researchId))) {
      throw new NotFoundError('research', researchId);
    }
    return deliveries;
  }

  /** Delivers the research's terminal result again, as a new delivery with its own attempts. */
  async redeliver(tenantId: string, researchId: string): Promise<Delivery> {
    return this.unitOfWork.run(async () => {
      const research = await this.researches.findView(tenantId, researchId);
      if (!research) throw new NotFoundError('research', researchId);
      const event = TERMINAL_EVENTS[research.status];
      const url = research.params.callbackUrl;
      if (!event || !url) throw new ResearchNotRedeliverableError(researchId, research.status, Boolean(url));
      const delivery = await this.deliveries.insertRedelivery(tenantId, researchId, event, url, randomUUID());
      this.unitOfWork.afterCommit(() => this.dispatch(tenantId, researchId));
      this.logger.log({ research_id: researchId, delivery_id: delivery.id }, 'webhook redelivery asked for');
      return delivery;
    });
  }

  /**
   * Queues the next attempt of every pending delivery of a research. Never throws: a delivery
   * that cannot be queued now is queued by the sweep.
   */
  async dispatch(tenantId: string, researchId: string): Promise<void> {
    try {
      for (const due of await this.deliveries.pendingOf(tenantId, researchId)) await this.enqueue(due);
    } catch (error) {
      this.logger.warn(
        { research_id: researchId, err: error },
        'webhook delivery not queued now; the sweep will queue it',
      );
    }
  }

  /** Adds the job of a delivery's next attempt, delayed until it is due; adding it twice is harmless. */
  async enqueue(due: DueDelivery): Promise<boolean> {
    const added = this.queue.add(
      WebhookJobName.Deliver,
      { deliveryId: due.id, tenantId: due.tenantId, researchId: due.researchId, attempt: due.attempt },
      {
        jobId: webhookJobId(due.id, due.attempt),
        delay: Math.max(0, due.nextAttemptAt.getTime() - Date.now()),
        // Only an error of our own (the database down) fails the job: a failed delivery is a
        // next job, scheduled by the attempt that failed.
        attempts: 3,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: true,
        removeOnFail: 1000,
      },
    );
    try {
      return (await withinMs(added, ENQUEUE_TIMEOUT_MS)) !== TIMED_OUT;
    } catch (error) {
      this.logger.warn({ delivery_id: due.id, err: error }, 'webhook delivery not queued; the sweep will queue it');
      return false;
    }
  }

  /** Whether the queue holds the job of this attempt and will run it. */
  async queued(due: DueDelivery): Promise<boolean> {
    const job = await this.queue.getJob(webhookJobId(due.id, due.attempt));
    if (!job) return false;
    const state = await job.getState();
    if (['waiting', 'active', 'delayed', 'paused'].includes(state)) return true;
    // A finished or failed job keeps its id taken: remove it so the attempt can be queued again.
    if (!(await job.isActive())) await job.remove();
    return false;
  }
}

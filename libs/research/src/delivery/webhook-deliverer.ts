import { AppConfig } from '@app/config';
import { Metric } from '@app/observability';
import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Histogram } from 'prom-client';
import { ResearchResponseDto } from '../dto/research-response.dto';
import { ResearchRepository } from '../persistence/research.repository';
import { DeliveryRepository } from './delivery.repository';
import { DeliveryService } from './delivery.service';
import { DeliverWebhookJob } from './webhook-queue';
import { WebhookSender } from './webhook-sender';
import { signatureHeader } from './webhook-signature';

const SWEEP_BATCH = 500;

/** How one delivery job ended. */
export type DeliveryJobOutcome = 'delivered' | 'retry_scheduled' | 'failed' | 'skipped';

/**
 * Makes the attempts of webhook deliveries, in the worker: signs the research's terminal result
 * with its tenant's secret, POSTs it, records the attempt, and schedules the next one with
 * exponential backoff until `WEBHOOK_RETRY_SECONDS` after the delivery began. Every attempt and
 * the next one are in PostgreSQL, so a delivery survives restarts and a Redis loss: the sweep,
 * part of the reconciler's pass, queues again every pending delivery whose job is gone.
 */
@Injectable()
export class WebhookDeliverer {
  private readonly logger = new Logger('WebhookDelivery');

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly service: DeliveryService,
    private readonly researches: ResearchRepository,
    private readonly sender: WebhookSender,
    private readonly config: AppConfig,
    @InjectMetric(Metric.WebhookAttempts) private readonly attempts: Counter<string>,
    @InjectMetric(Metric.WebhookDeliveries) private readonly ended: Counter<string>,
    @InjectMetric(Metric.WebhookAttemptDuration) private readonly attemptDuration: Histogram<string>,
    @InjectMetric(Metric.WebhookDeliveryLatency) private readonly latency: Histogram<string>,
  ) {}

  /** One attempt of one delivery. */
  async deliver(job: DeliverWebhookJob): Promise<DeliveryJobOutcome> {
    const delivery = await this.deliveries.find(job.tenantId, job.deliveryId);
    if (!delivery || delivery.status !== 'pending' || delivery.attempts !== job.attempt - 1) return 'skipped';
    const research = await this.researches.findView(job.tenantId, job.researchId);
    if (!research) return 'skipped';

    const body = JSON.stringify({
      id: delivery.id,
      event: delivery.event,
      created_at: delivery.createdAt.toISOString(),
      research: ResearchResponseDto.from(research),
    });
    const secret = await this.service.secretOf(job.tenantId);
    const attemptedAt = new Date();
    const result = await this.sender.send(delivery.url, body, {
      'x-signature': signatureHeader(secret, body, Math.floor(attemptedAt.getTime() / 1000)),
      'x-webhook-id': delivery.id,
      'x-webhook-event': delivery.event,
      'x-webhook-attempt': String(job.attempt),
      'x-research-id': research.id,
    });
    this.attempts.inc({ outcome: result.outcome });
    this.attemptDuration.observe({ outcome: result.outcome }, result.durationMs / 1000);

    const delivered = result.outcome === 'delivered';
    const retryAt = new Date(Date.now() + this.config.webhooks.backoffMs * 2 ** (job.attempt - 1));
    const retry = !delivered && retryAt.getTime() <= delivery.createdAt.getTime() + this.config.webhooks.retryMs;
    const status = delivered ? 'delivered' : retry ? 'pending' : 'failed';
    const recorded = await this.deliveries.recordAttempt(job.tenantId, delivery.id, job.attempt, {
      ...result,
      attemptedAt,
      status,
      nextAttemptAt: retry ? retryAt : null,
    });
    if (!recorded) return 'skipped';

    const log = {
      research_id: research.id,
      delivery_id: delivery.id,
      attempt: job.attempt,
      outcome: result.outcome,
      status_code: result.statusCode,
      duration_ms: result.durationMs,
    };
    if (delivered) {
      this.ended.inc({ outcome: 'delivered' });
      this.latency.observe((Date.now() - delivery.createdAt.getTime()) / 1000);
      this.logger.log(log, 'webhook delivered');
      return 'delivered';
    }
    if (retry) {
      await this.service.enqueue({ ...job, id: delivery.id, attempt: job.attempt + 1, nextAttemptAt: retryAt });
      this.logger.warn(
        { ...log, error: result.error, next_attempt_at: retryAt.toISOString() },
        'webhook attempt failed; will retry',
      );
      return 'retry_scheduled';
    }
    this.ended.inc({ outcome: 'failed' });
    this.logger.error({ ...log, error: result.error }, 'webhook delivery failed for good');
    return 'failed';
  }

  /** Queues again every overdue pending delivery whose job is gone. Returns how many. */
  async sweep(): Promise<number> {
    let queued = 0;
    for (const due of await this.deliveries.overdue(this.config.reconcileGraceMs, SWEEP_BATCH)) {
      if (await this.service.queued(due)) continue;
      if (await this.service.enqueue(due)) queued += 1;
    }
    if (queued > 0) this.logger.warn({ queued }, 'webhook deliveries queued again');
    return queued;
  }
}

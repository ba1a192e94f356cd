import { DeliverWebhookJob, DeliveryJobOutcome, WEBHOOK_QUEUE, WebhookDeliverer, WebhookJobName } from '@app/research';
import { Process, Processor } from '@nestjs/bull';
import { Job } from 'bull';

/** How many webhook attempts one worker makes at once: they wait on receivers, not on the CPU. */
const CONCURRENCY = 8;

/** Unpacks a webhook job and hands it to the deliverer. */
@Processor(WEBHOOK_QUEUE)
export class WebhookProcessor {
  constructor(private readonly deliverer: WebhookDeliverer) {}

  @Process({ name: WebhookJobName.Deliver, concurrency: CONCURRENCY })
  deliver(job: Job<DeliverWebhookJob>): Promise<DeliveryJobOutcome> {
    return this.deliverer.deliver(job.data);
  }
}

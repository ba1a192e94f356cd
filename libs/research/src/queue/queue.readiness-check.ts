import { ReadinessCheck } from '@app/observability';
import { Injectable } from '@nestjs/common';
import { ResearchQueueProducer } from './research-queue.producer';

/** Redis, through the research queue's own connection. */
@Injectable()
export class QueueReadinessCheck extends ReadinessCheck {
  readonly name = 'redis';

  constructor(private readonly producer: ResearchQueueProducer) {
    super();
  }

  async check(): Promise<void> {
    await this.producer.ping();
  }
}

import { Module } from '@nestjs/common';
import { ResearchPersistenceModule } from '../research-persistence.module';
import { ResearchQueueModule } from '../queue/research-queue.module';
import { DeliveryRepository } from './delivery.repository';
import { DeliveryService } from './delivery.service';
import { WebhookSecretModule } from './webhook-secret.module';
import { WebhookSender } from './webhook-sender';

/** Webhook deliveries as both apps need them: checks, the log, redelivery and queueing. */
@Module({
  imports: [ResearchPersistenceModule, ResearchQueueModule, WebhookSecretModule],
  providers: [DeliveryRepository, DeliveryService, WebhookSender],
  exports: [DeliveryRepository, DeliveryService, WebhookSender],
})
export class DeliveryModule {}

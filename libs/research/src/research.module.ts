import { Module } from '@nestjs/common';
import { DeliveryModule } from './delivery/delivery.module';
import { ResearchPersistenceModule } from './research-persistence.module';
import { ResearchQueueModule } from './queue/research-queue.module';
import { ResearchService } from './research.service';
import { ResearchEventNotifier } from './events/research-event-notifier';
import { ResearchEventsService } from './events/research-events.service';

/** What the api needs: the use cases, the event streams, webhook deliveries and the queue producer, no processor. */
@Module({
  imports: [ResearchPersistenceModule, ResearchQueueModule, DeliveryModule],
  providers: [ResearchService, ResearchEventNotifier, ResearchEventsService],
  exports: [ResearchService, ResearchEventsService, ResearchQueueModule, DeliveryModule],
})
export class ResearchModule {}

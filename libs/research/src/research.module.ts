import { Module } from '@nestjs/common';
import { ResearchPersistenceModule } from './research-persistence.module';
import { ResearchQueueModule } from './queue/research-queue.module';
import { ResearchService } from './research.service';

/** What the api needs: the use cases and the queue producer, no processor. */
@Module({
  imports: [ResearchPersistenceModule, ResearchQueueModule],
  providers: [ResearchService],
  exports: [ResearchService, ResearchQueueModule],
})
export class ResearchModule {}

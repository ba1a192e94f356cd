import { AppConfig } from '@app/config';
import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { WEBHOOK_QUEUE } from '../delivery/webhook-queue';
import { RESEARCH_QUEUE } from './research-queue';
import { ResearchQueueProducer } from './research-queue.producer';

@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        url: config.redisUrl,
        prefix: config.queuePrefix,
        settings: {
          lockDuration: config.queueLockMs,
          stalledInterval: Math.max(1000, Math.floor(config.queueLockMs / 2)),
          maxStalledCount: 1,
          // After a Redis error Bull waits this long before taking jobs again (5 s by default):
          // a Redis restart should cost a moment, not seconds of every worker's time.
          retryProcessDelay: 500,
        },
      }),
    }),
    BullModule.registerQueue({ name: RESEARCH_QUEUE }, { name: WEBHOOK_QUEUE }),
  ],
  providers: [ResearchQueueProducer],
  exports: [ResearchQueueProducer, BullModule],
})
export class ResearchQueueModule {}

import { DynamicModule, Module, ModuleMetadata, Type } from '@nestjs/common';
import { DeliveryModule } from './delivery/delivery.module';
import { WebhookDeliverer } from './delivery/webhook-deliverer';
import { ResearchRunner } from './research-runner';
import { ResearchPersistenceModule } from './research-persistence.module';
import { ResearchExecutionService } from './execution/research-execution.service';
import { ResearchReconciler } from './execution/research.reconciler';
import { awaitingReviewMetric } from './execution/awaiting-review.metric';
import { queueDepthMetric } from './queue/queue-depth.metric';
import { ResearchIntake } from './queue/research-intake';
import { ResearchQueueModule } from './queue/research-queue.module';

export interface ResearchExecutionOptions {
  /** Modules that provide the runner. */
  imports: ModuleMetadata['imports'];
  /** The engine bound to the `ResearchRunner` port. */
  runner: Type<ResearchRunner>;
}

/** What the worker needs: running research jobs with a given engine, the reconciler, and webhook deliveries. */
@Module({})
export class ResearchExecutionModule {
  static register(options: ResearchExecutionOptions): DynamicModule {
    return {
      module: ResearchExecutionModule,
      imports: [ResearchPersistenceModule, ResearchQueueModule, DeliveryModule, ...(options.imports ?? [])],
      providers: [
        { provide: ResearchRunner, useExisting: options.runner },
        ResearchExecutionService,
        ResearchReconciler,
        WebhookDeliverer,
        ResearchIntake,
        queueDepthMetric,
        awaitingReviewMetric,
      ],
      exports: [ResearchExecutionService, ResearchIntake, ResearchQueueModule, WebhookDeliverer],
    };
  }
}

import { AgentsModule, configuredEngine } from '@app/agents';
import { ConfigModule } from '@app/config';
import { DatabaseModule, DatabaseReadinessCheck } from '@app/database';
import { HealthModule, LoggingModule, MetricsModule } from '@app/observability';
import { QueueReadinessCheck, ResearchExecutionModule } from '@app/research';
import { Module } from '@nestjs/common';
import { ResearchProcessor } from './research.processor';

const execution = ResearchExecutionModule.register({ imports: [AgentsModule.register()], runner: configuredEngine() });

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forApp('worker'),
    MetricsModule.forApp('worker'),
    DatabaseModule,
    execution,
    HealthModule.register({ imports: [execution], checks: [DatabaseReadinessCheck, QueueReadinessCheck] }),
  ],
  providers: [ResearchProcessor],
})
export class WorkerModule {}

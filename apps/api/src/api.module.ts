import { ConfigModule, appConfig } from '@app/config';
import { DatabaseModule, DatabaseReadinessCheck } from '@app/database';
import { HttpExceptionFilter, RequestValidationPipe } from '@app/http';
import { HealthModule, LoggingModule, MetricsModule } from '@app/observability';
import { QueueReadinessCheck, ResearchModule } from '@app/research';
import { CorpusModule } from '@app/search';
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { QueueDashboardModule } from './admin/queue-dashboard.module';
import { DocumentsController } from './documents/documents.controller';
import { ResearchController } from './research/research.controller';

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forApp('api'),
    MetricsModule.forApp('api'),
    DatabaseModule,
    ResearchModule,
    CorpusModule,
    HealthModule.register({ imports: [ResearchModule], checks: [DatabaseReadinessCheck, QueueReadinessCheck] }),
    ...(appConfig().queueDashboardEnabled ? [QueueDashboardModule] : []),
  ],
  controllers: [ResearchController, DocumentsController],
  providers: [
    { provide: APP_PIPE, useClass: RequestValidationPipe },
    { provide: APP_FILTER, useClass: HttpExceptionFilter },
  ],
})
export class ApiModule {}

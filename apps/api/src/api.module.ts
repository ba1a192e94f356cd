import { ApiKeyGuard, AuthModule, RateLimitGuard, ThrottlingModule } from '@app/auth';
import { ConfigModule, appConfig } from '@app/config';
import { DatabaseModule, DatabaseReadinessCheck } from '@app/database';
import { HealthModule, LoggingModule, MetricsModule } from '@app/observability';
import { QueueReadinessCheck, ResearchModule } from '@app/research';
import { CorpusModule } from '@app/search';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { KeysController } from './admin/keys.controller';
import { QueueDashboardModule } from './admin/queue-dashboard.module';
import { DocumentsController } from './documents/documents.controller';
import { ResearchController } from './research/research.controller';

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forApp('api'),
    MetricsModule.forApp('api'),
    DatabaseModule,
    AuthModule,
    ThrottlingModule,
    ResearchModule,
    CorpusModule,
    HealthModule.register({ imports: [ResearchModule], checks: [DatabaseReadinessCheck, QueueReadinessCheck] }),
    ...(appConfig().queueDashboardEnabled ? [QueueDashboardModule] : []),
  ],
  controllers: [ResearchController, DocumentsController, KeysController],
  // In this order: the caller is known before its rate limit is counted.
  providers: [
    { provide: APP_GUARD, useExisting: ApiKeyGuard },
    { provide: APP_GUARD, useExisting: RateLimitGuard },
  ],
})
export class ApiModule {}

import { AgentsModule, configuredEngine } from '@app/agents';
import { ConfigModule, appConfig } from '@app/config';
import { DatabaseModule, DatabaseReadinessCheck } from '@app/database';
import { HttpExceptionFilter } from '@app/http';
import { HealthModule, LoggingInterceptor, LoggingModule, MetricsModule } from '@app/observability';
import { QueueReadinessCheck, ResearchExecutionModule } from '@app/research';
import { WebFetchModule, WebSearchModule, WebSearchReadinessCheck } from '@app/search';
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { LlmOutageListener } from './llm-outage.listener';
import { ResearchProcessor } from './research.processor';
import { WebhookProcessor } from './webhook.processor';

const agents = AgentsModule.register();
const execution = ResearchExecutionModule.register({ imports: [agents], runner: configuredEngine() });
/** Web search engines show on /ready as a warning when their last search failed; never as unready. */
const webSearch = appConfig().search.providers.some((name) => name !== 'corpus');

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forApp('worker'),
    MetricsModule.forApp('worker'),
    DatabaseModule,
    WebFetchModule,
    WebSearchModule,
    agents,
    execution,
    HealthModule.register({
      imports: [execution, WebSearchModule],
      checks: [DatabaseReadinessCheck, QueueReadinessCheck, ...(webSearch ? [WebSearchReadinessCheck] : [])],
    }),
  ],
  providers: [
    ResearchProcessor,
    WebhookProcessor,
    ...(appConfig().llm ? [LlmOutageListener] : []),
    // The HTTP server serves probes and metrics only: no pipe, and no request metrics.
    { provide: APP_INTERCEPTOR, useClass: LoggingInterceptor },
    { provide: APP_FILTER, useClass: HttpExceptionFilter },
  ],
})
export class WorkerModule {}

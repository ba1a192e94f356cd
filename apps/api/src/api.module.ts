import { AuditInterceptor, AuditModule } from '@app/audit';
import { ApiKeyGuard, AuthModule, RateLimitGuard, ThrottlingModule } from '@app/auth';
import { ConfigModule, appConfig } from '@app/config';
import { DatabaseModule, DatabaseReadinessCheck } from '@app/database';
import { HttpExceptionFilter, RequestValidationPipe } from '@app/http';
import { HealthModule, LoggingInterceptor, LoggingModule, MetricsInterceptor, MetricsModule } from '@app/observability';
import { QueueReadinessCheck, ResearchModule } from '@app/research';
import { CorpusModule } from '@app/search';
import { Module, Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { KeysController } from './admin/keys.controller';
import { TenantsController } from './admin/tenants.controller';
import { AuditController } from './audit/audit.controller';
import { DocumentsController } from './documents/documents.controller';
import { ResearchController } from './research/research.controller';

/**
 * The queue dashboard's module, loaded only when it is enabled: Bull Board is about 5 MB of heap,
 * loaded on its own, that an api without the dashboard would otherwise hold and mark at every
 * full collection.
 */
function queueDashboardModule(): Type {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when enabled, see above
  return (require('./admin/queue-dashboard.module') as typeof import('./admin/queue-dashboard.module'))
    .QueueDashboardModule;
}

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forApp('api'),
    MetricsModule.forApp('api'),
    DatabaseModule,
    AuthModule,
    ThrottlingModule,
    AuditModule,
    ResearchModule,
    CorpusModule,
    HealthModule.register({ imports: [ResearchModule], checks: [DatabaseReadinessCheck, QueueReadinessCheck] }),
    ...(appConfig().queueDashboardEnabled ? [queueDashboardModule()] : []),
  ],
  controllers: [ResearchController, DocumentsController, KeysController, TenantsController, AuditController],
  providers: [
    // Guards first, in this order: the caller is known before its rate limit is counted.
    { provide: APP_GUARD, useExisting: ApiKeyGuard },
    { provide: APP_GUARD, useExisting: RateLimitGuard },
    // A request passes the guards (APP_GUARD), then the global interceptors in the order listed
    // here, outermost first: audit, metrics, logging. The audit interceptor goes first, so that it
    // wraps everything the others do. Metrics and logging record once the reply is finished, with
    // its final status, so what they record does not depend on where they stand. Requests that
    // reach no handler (unknown routes, parse errors, a guard's refusal) are recorded by
    // Fastify hooks instead, and only they.
    { provide: APP_INTERCEPTOR, useExisting: AuditInterceptor },
    { provide: APP_INTERCEPTOR, useClass: MetricsInterceptor },
    { provide: APP_INTERCEPTOR, useClass: LoggingInterceptor },
    { provide: APP_PIPE, useClass: RequestValidationPipe },
    { provide: APP_FILTER, useClass: HttpExceptionFilter },
  ],
})
export class ApiModule {}

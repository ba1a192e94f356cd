import { ErrorReplyObserver } from '@app/http';
import { Module } from '@nestjs/common';
import { AuditService } from './audit.service';
import { AuditWriter } from './audit.writer';
import { AuditRefusals } from './http/audit-refusals';
import { AuditInterceptor } from './http/audit.interceptor';
import { AuditRepository } from './persistence/audit.repository';

/**
 * The audit trail. The api binds `AuditInterceptor` as a global interceptor, and the exception
 * filter tells `ErrorReplyObserver` of every error answer; the CLI uses `AuditService` alone.
 */
@Module({
  providers: [
    AuditRepository,
    AuditWriter,
    AuditService,
    AuditInterceptor,
    AuditRefusals,
    { provide: ErrorReplyObserver, useExisting: AuditRefusals },
  ],
  exports: [AuditService, AuditInterceptor, ErrorReplyObserver],
})
export class AuditModule {}

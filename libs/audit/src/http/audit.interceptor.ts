import { UnitOfWork } from '@app/database';
import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { Observable, from, lastValueFrom, tap } from 'rxjs';
import { AuditOutcome } from '../audit-action';
import { AuditService } from '../audit.service';
import { AuditedRequest, entryOf, markRecorded } from './audit-request';
import { auditedRouteOf } from './audited.decorator';

/** Methods that change something: recorded in the transaction of the change. */
const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Records every successful call of an audited route. A change runs in a unit of work that the
 * interceptor opens around the handler, and its record is written in it, before the commit: the
 * change and its record are stored together or not at all. A read is recorded through the
 * batched writer. Failures and refusals are recorded where they are answered (`AuditRefusals`),
 * after the change's transaction rolled back.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly audit: AuditService,
    private readonly unitOfWork: UnitOfWork,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuditedRequest>();
    const route = auditedRouteOf(request);
    if (!route) return next.handle();
    const reply = http.getResponse<FastifyReply>();

    if (!CHANGES.has(request.method)) {
      return next.handle().pipe(
        tap(() => {
          this.audit.record(entryOf(request, route, AuditOutcome.Success, reply.statusCode));
          markRecorded(request);
        }),
      );
    }
    return from(
      this.unitOfWork.run(async () => {
        // Called inside the unit, so that the handler runs in its async context and joins it.
        const answer: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
        await this.audit.recordInTransaction(entryOf(request, route, AuditOutcome.Success, reply.statusCode, answer));
        return answer;
      }),
    ).pipe(tap(() => markRecorded(request)));
  }
}

import { ErrorCode } from '@app/common';
import { ErrorReplyObserver, ErrorReplySent } from '@app/http';
import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { AuditOutcome } from '../audit-action';
import { AuditService } from '../audit.service';
import { AuditedRequest, entryOf, isRecorded, markRecorded } from './audit-request';
import { auditedRouteOf } from './audited.decorator';

/** Refusals by authentication, scopes and rate limits. */
const DENIED: ReadonlySet<string> = new Set([ErrorCode.Unauthorized, ErrorCode.Forbidden, ErrorCode.RateLimited]);

/**
 * Records the error answers of audited routes, as the exception filter sends them: `denied` for
 * refusals by the guards, which run before any interceptor, and `failure` for everything else
 * that went wrong once the caller was known (the change's transaction has rolled back by then).
 * Through the batched writer, once per request. A request that failed before it was even
 * authenticated (a body that is not JSON, too large) names nobody and changed nothing: it is not
 * recorded.
 */
@Injectable()
export class AuditRefusals extends ErrorReplyObserver {
  constructor(private readonly audit: AuditService) {
    super();
  }

  errorReplied(request: FastifyRequest, reply: ErrorReplySent): void {
    const audited = request as AuditedRequest;
    const route = auditedRouteOf(request);
    if (!route || isRecorded(audited)) return;
    const denied = DENIED.has(reply.code);
    if (!denied && !audited.principal) return;
    markRecorded(audited);
    this.audit.record(entryOf(audited, route, denied ? AuditOutcome.Denied : AuditOutcome.Failure, reply.status));
  }
}

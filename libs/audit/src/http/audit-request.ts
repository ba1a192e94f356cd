import { randomUUID } from 'node:crypto';
import { Principal } from '@app/auth';
import { FastifyRequest } from 'fastify';
import { AuditOutcome } from '../audit-action';
import { AuditEntry } from '../audit-record';
import { AuditedRoute } from './audited.decorator';

const RECORDED = Symbol('auditRecorded');

export type AuditedRequest = FastifyRequest & { principal?: Principal; [RECORDED]?: true };
const MAX_TEXT = 512;
const MAX_ID = 128;

/** The field of a create's answer that holds the created id, by resource type. */
const CREATED_ID_FIELD = {
  research: 'research_id',
  document: 'document_id',
  key: 'key_id',
  tenant: 'tenant_id',
  audit: 'record_id',
};

/** The record of a request: who, from where, what, on which resource, with what outcome. */
export function entryOf(
  request: AuditedRequest,
  route: AuditedRoute,
  outcome: AuditOutcome,
  statusCode: number,
  answer?: unknown,
): AuditEntry {
  const principal = request.principal;
  return {
    id: randomUUID(),
    tenantId: (route.tenantFromAnswer ? tenantIdOf(answer) : undefined) ?? principal?.tenantId ?? null,
    occurredAt: new Date(),
    actor: principal?.actor ?? 'anonymous',
    action: route.action,
    resourceType: route.resourceType,
    resourceId: resourceIdOf(request, route, answer),
    outcome,
    statusCode,
    requestId: clip(String(request.id), MAX_ID),
    clientIp: request.ip ?? null,
    userAgent: clip(request.headers['user-agent'] ?? null, MAX_TEXT),
    occurrences: 1,
  };
}

/** The path id (a tenant's is its name); for a create, the id in its answer; null for lists. */
function resourceIdOf(request: FastifyRequest, route: AuditedRoute, answer: unknown): string | null {
  const params = request.params as { id?: unknown; name?: unknown } | undefined;
  const pathId = params?.id ?? params?.name;
  if (typeof pathId === 'string') return clip(pathId.toLowerCase(), MAX_ID);
  if (route.action.endsWith('.create') && typeof answer === 'object' && answer !== null) {
    const id = (answer as Record<string, unknown>)[CREATED_ID_FIELD[route.resourceType]];
    return typeof id === 'string' ? id : null;
  }
  return null;
}

function tenantIdOf(answer: unknown): string | undefined {
  const tenantId =
    typeof answer === 'object' && answer !== null ? (answer as { tenant_id?: unknown }).tenant_id : undefined;
  return typeof tenantId === 'string' ? tenantId : undefined;
}

/**
 * At most `length` characters of what a caller sent, as text PostgreSQL stores exactly as it was
 * hashed: a surrogate pair cut in two, or any lone surrogate, becomes U+FFFD, and so does NUL,
 * which PostgreSQL's text cannot hold.
 */
function clip(value: string | null, length: number): string | null {
  return value === null ? null : value.slice(0, length).toWellFormed().replaceAll('\0', '\uFFFD');
}

/** Marks a request as recorded, so that nothing records it a second time. */
export function markRecorded(request: AuditedRequest): void {
  request[RECORDED] = true;
}

export function isRecorded(request: AuditedRequest): boolean {
  return request[RECORDED] === true;
}

import { AddRouteConfig } from '@app/common';
import { FastifyRequest } from 'fastify';
import { AuditAction, AuditResourceType } from '../audit-action';

/** What a route does, for the audit trail. */
export interface AuditedRoute {
  action: AuditAction;
  resourceType: AuditResourceType;
  /**
   * The record belongs to the tenant of the resource, read from the answer's `tenant_id`, rather
   * than to the caller's: an admin managing another tenant's keys leaves the record in that
   * tenant's trail, where the tenant reviews it. A failed or refused call has no answer: it stays
   * in the caller's.
   */
  tenantFromAnswer?: boolean;
}

const ROUTE_CONFIG_KEY = 'audit';

/**
 * Each call of the route leaves one audit record of `action` on a resource of `resourceType`.
 * Kept in the Fastify route config, so that the exception filter, which sees refusals before any
 * interceptor runs, reads it as the interceptor does.
 */
export const Audited = (
  action: AuditAction,
  resourceType: AuditResourceType,
  options: Pick<AuditedRoute, 'tenantFromAnswer'> = {},
): MethodDecorator =>
  AddRouteConfig({ [ROUTE_CONFIG_KEY]: { action, resourceType, ...options } satisfies AuditedRoute });

/** The audited route a request reached; undefined for routes that are not audited, or no route. */
export function auditedRouteOf(request: FastifyRequest): AuditedRoute | undefined {
  return (request.routeOptions?.config as { [ROUTE_CONFIG_KEY]?: AuditedRoute } | undefined)?.[ROUTE_CONFIG_KEY];
}

/** Every action the audit trail records, named `<resource>.<verb>`. */
export const AUDIT_ACTIONS = [
  'research.create',
  'research.read',
  'research.list',
  'research.sources.list',
  'research.sources.read',
  'research.events.read',
  'research.deliveries.list',
  'research.deliveries.redeliver',
  'research.cancel',
  'research.retry',
  'research.plan.read',
  'research.plan.review',
  'document.create',
  'document.read',
  'document.list',
  'document.delete',
  'key.create',
  'key.list',
  'key.revoke',
  'webhook_secret.read',
  'webhook_secret.rotate',
  'audit.read',
  'audit.verify',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_RESOURCE_TYPES = ['research', 'document', 'key', 'tenant', 'audit'] as const;

export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

export enum AuditOutcome {
  Success = 'success',
  /** The call was allowed and failed: nothing it meant to change was changed. */
  Failure = 'failure',
  /** Refused by authentication, scopes or rate limits. */
  Denied = 'denied',
}

export const AUDIT_OUTCOMES: readonly AuditOutcome[] = Object.values(AuditOutcome);

/**
 * Reads of research data: the bulk of the traffic, recorded only while AUDIT_READS is on. Key
 * management and audit queries are always recorded, and so is every refusal.
 */
export const DATA_READS: ReadonlySet<AuditAction> = new Set<AuditAction>([
  'research.read',
  'research.list',
  'research.sources.list',
  'research.sources.read',
  'research.events.read',
  'research.deliveries.list',
  'research.plan.read',
  'document.read',
  'document.list',
]);

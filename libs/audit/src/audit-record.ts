import { AuditAction, AuditOutcome, AuditResourceType } from './audit-action';

/** What happened, as the api saw it, before it takes its place in a chain. */
export interface AuditEntry {
  id: string;
  /** Null when the caller was refused before it was identified. */
  tenantId: string | null;
  occurredAt: Date;
  /** `key:<id>` or `anonymous`. */
  actor: string;
  action: AuditAction;
  resourceType: AuditResourceType;
  /** The created id for creates, the path id otherwise, null for lists. */
  resourceId: string | null;
  outcome: AuditOutcome;
  statusCode: number;
  requestId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  /**
   * How many requests the record stands for: 1, or for repeated refusals of one caller (see
   * `DenialCoalescer`) the refusals after the first within a window, of which it holds the first.
   */
  occurrences: number;
}

/** A stored record: its entry, its place in its tenant's chain and its hash. */
export interface AuditRecord extends AuditEntry {
  seq: number;
  prevHash: string;
  hash: string;
}

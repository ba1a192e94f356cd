import { PageCursor } from '@app/common';
import { UnitOfWork } from '@app/database';
import { Injectable } from '@nestjs/common';
import { AuditAction, AuditOutcome, AuditResourceType } from '../audit-action';
import { ChainHead, ChainLink, EMPTY_CHAIN, linkAfter } from '../audit-chain';
import { AuditEntry, AuditRecord } from '../audit-record';

/** Which records: every condition that is set must hold. `tenantId` undefined means every tenant. */
export interface AuditFilter {
  tenantId?: string | null;
  actor?: string;
  action?: AuditAction;
  resourceType?: AuditResourceType;
  resourceId?: string;
  outcome?: AuditOutcome;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
}

export interface ListedAuditRecord extends AuditRecord {
  /** The tenant's name; null for callers refused before they were identified. */
  tenantName: string | null;
}

export interface AuditRecordPage {
  items: ListedAuditRecord[];
  hasMore: boolean;
}

/** A chain: the tenant it belongs to (null for unidentified callers) and its head, if it has one. */
export interface StoredChain {
  tenantId: string | null;
  tenantName: string | null;
  head: ChainHead | null;
}

type EntryRow = {
  id: string;
  tenant_id: string | null;
  occurred_at: Date;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string | null;
  outcome: string;
  status_code: number;
  request_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  /** Absent from the outbox, whose records stand for one change each. */
  occurrences?: number;
};

type RecordRow = EntryRow & {
  seq: string;
  prev_hash: string;
  hash: string;
  tenant_name?: string | null;
};

/**
 * Records as one JSON text, an array of rows: each row is the record's canonical content (a JSON
 * array, see `canonicalContent`) with its hash added at the end. The text that was hashed is the
 * text stored, and it is not encoded a second time: pg encodes sixteen arrays of a batch element
 * by element, which took as long as building and hashing the records (bench/audit-append.mjs).
 */
function rowsOf(links: readonly ChainLink[]): string {
  return `[${links.map(({ record, content }) => `${content.slice(0, -1)},"${record.hash}"]`).join(',')}]`;
}

const RECORD_COLUMNS = `a.id, a.tenant_id, a.seq, a.occurred_at, a.actor, a.action, a.resource_type, a.resource_id,
  a.outcome, a.status_code, a.request_id, a.client_ip, a.user_agent, a.occurrences, a.prev_hash, a.hash`;

/**
 * The audit tables. Appends lock each chain head they extend, in one order (by tenant), so that
 * appends to a chain are serialised and two batches never wait for each other in a circle.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  /** Appends entries to their tenants' chains, in the caller's unit of work or a transaction of its own. */
  async append(entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    if (entries.length === 0) return [];
    return this.unitOfWork.run(async () => {
      const tenants = [...new Set(entries.map((entry) => entry.tenantId))].sort(byTenant);
      const heads = await this.lockHeads(tenants);
      const links = tenants.flatMap((tenant) =>
        linkAfter(
          heads.get(tenant) ?? EMPTY_CHAIN,
          entries.filter((entry) => entry.tenantId === tenant),
        ),
      );
      const records = links.map((link) => link.record);
      const lasts = tenants.map((tenant) => records.findLast((record) => record.tenantId === tenant)!);
      // Fields by their place in the canonical content.
      await this.unitOfWork.query(
        `WITH inserted AS (
           INSERT INTO audit_records (id, tenant_id, seq, occurred_at, actor, action, resource_type, resource_id,
                                      outcome, status_code, request_id, client_ip, user_agent, occurrences, prev_hash,
                                      hash)
           SELECT (r->>0)::uuid, (r->>1)::uuid, (r->>2)::bigint, (r->>3)::timestamptz, r->>4, r->>5, r->>6, r->>7,
                  r->>8, (r->>9)::smallint, r->>10, r->>11, r->>12, (r->>13)::int, r->>14, r->>15
             FROM jsonb_array_elements($1::jsonb) AS r
         )
         UPDATE audit_chain_heads AS h SET last_seq = n.last_seq, last_hash = n.last_hash, updated_at = now()
           FROM unnest($2::uuid[], $3::bigint[], $4::text[]) AS n(tenant_id, last_seq, last_hash)
          WHERE h.tenant_id IS NOT DISTINCT FROM n.tenant_id`,
        [rowsOf(links), lasts.map((r) => r.tenantId), lasts.map((r) => r.seq), lasts.map((r) => r.hash)],
        'audit-append',
      );
      return records;
    });
  }

  /**
   * Puts a change's record in the outbox, in the change's unit of work: one insert, no lock, so
   * that changes do not wait for each other's chain. `takeFromOutbox` moves it into its chain.
   */
  async enqueue(entry: AuditEntry): Promise<void> {
    // Sent with the change's COMMIT, in its round trip; if it fails, the change rolls back with it.
    await this.unitOfWork.defer(
      `INSERT INTO audit_outbox (id, tenant_id, occurred_at, actor, action, resource_type, resource_id, outcome,
                                 status_code, request_id, client_ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        entry.id,
        entry.tenantId,
        entry.occurredAt.toISOString(),
        entry.actor,
        entry.action,
        entry.resourceType,
        entry.resourceId,
        entry.outcome,
        entry.statusCode,
        entry.requestId,
        entry.clientIp,
        entry.userAgent,
      ],
      'audit-outbox-insert',
    );
  }

  /**
   * Takes up to `limit` of the oldest outbox records, in the caller's unit of work, which is to
   * append them: they leave the outbox only if that commits. Rows another writer is taking are
   * skipped, so writers of several replicas never wait for each other here.
   */
  private async takeFromOutbox(limit: number): Promise<AuditEntry[]> {
    const rows = await this.unitOfWork.query<(EntryRow & { position: string })[]>(
      // In a CTE: TypeORM answers a bare DELETE with [rows, count] instead of the rows.
      `WITH taken AS (
         DELETE FROM audit_outbox
          WHERE position IN (SELECT position FROM audit_outbox ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING position, id, tenant_id, occurred_at, actor, action, resource_type, resource_id, outcome,
                    status_code, request_id, client_ip, user_agent
       )
       SELECT * FROM taken`,
      [limit],
    );
    return rows.sort((a, b) => Number(a.position) - Number(b.position)).map(toEntry);
  }

  /**
   * Moves up to `limit` outbox records into their chains in one transaction, oldest first;
   * answers how many it moved.
   */
  async chainFromOutbox(limit: number): Promise<number> {
    return this.unitOfWork.run(async () => {
      const entries = await this.takeFromOutbox(limit);
      await this.append(entries);
      return entries.length;
    });
  }

  /** Newest first, by (occurred_at, id). */
  async list(filter: AuditFilter, limit: number, after?: PageCursor): Promise<AuditRecordPage> {
    const { conditions, parameters } = whereOf(filter);
    if (after) {
      parameters.push(after.createdAt, after.id);
      conditions.push(`(a.occurred_at, a.id) < ($${parameters.length - 1}, $${parameters.length})`);
    }
    parameters.push(limit + 1);
    const rows = await this.unitOfWork.query<RecordRow[]>(
      `SELECT ${RECORD_COLUMNS}, t.name AS tenant_name
         FROM audit_records a LEFT JOIN tenants t ON t.id = a.tenant_id
        ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY a.occurred_at DESC, a.id DESC
        LIMIT $${parameters.length}`,
      parameters,
    );
    return {
      items: rows.slice(0, limit).map((row) => ({ ...toRecord(row), tenantName: row.tenant_name ?? null })),
      hasMore: rows.length > limit,
    };
  }

  /**
   * The chains to verify: one tenant's (null: the unidentified callers'), or every chain there
   * is, including records whose head is missing.
   */
  async chains(tenantId?: string | null): Promise<StoredChain[]> {
    const rows = await this.unitOfWork.query<
      { tenant_id: string | null; tenant_name: string | null; last_seq: string | null; last_hash: string | null }[]
    >(
      `WITH chains AS (
         ${
           tenantId === undefined
             ? 'SELECT tenant_id FROM audit_chain_heads UNION SELECT DISTINCT tenant_id FROM audit_records'
             : 'SELECT $1::uuid AS tenant_id'
         }
       )
       SELECT c.tenant_id, t.name AS tenant_name, h.last_seq, h.last_hash
         FROM chains c
         LEFT JOIN audit_chain_heads h ON h.tenant_id IS NOT DISTINCT FROM c.tenant_id
         LEFT JOIN tenants t ON t.id = c.tenant_id
        ORDER BY t.name NULLS FIRST, c.tenant_id`,
      tenantId === undefined ? [] : [tenantId],
    );
    return rows.map((row) => ({
      tenantId: row.tenant_id,
      tenantName: row.tenant_name,
      head: row.last_seq === null ? null : { lastSeq: Number(row.last_seq), lastHash: row.last_hash as string },
    }));
  }

  /** Records of one chain after `afterSeq`, in sequence order, up to `throughSeq` when given. */
  async chainPage(
    tenantId: string | null,
    afterSeq: number,
    throughSeq: number | null,
    limit: number,
    period: Pick<AuditFilter, 'from' | 'to'> = {},
  ): Promise<AuditRecord[]> {
    const parameters: unknown[] = [afterSeq];
    const conditions = [tenantId === null ? 'a.tenant_id IS NULL' : `a.tenant_id = $${parameters.push(tenantId)}`];
    conditions.push('a.seq > $1');
    if (throughSeq !== null) conditions.push(`a.seq <= $${parameters.push(throughSeq)}`);
    if (period.from) conditions.push(`a.occurred_at >= $${parameters.push(period.from)}`);
    if (period.to) conditions.push(`a.occurred_at < $${parameters.push(period.to)}`);
    const rows = await this.unitOfWork.query<RecordRow[]>(
      `SELECT ${RECORD_COLUMNS} FROM audit_records a WHERE ${conditions.join(' AND ')}
        ORDER BY a.seq LIMIT $${parameters.push(limit)}`,
      parameters,
    );
    return rows.map(toRecord);
  }

  async tenantIdByName(name: string): Promise<string | null> {
    const rows = await this.unitOfWork.query<{ id: string }[]>(`SELECT id FROM tenants WHERE name = $1`, [name]);
    return rows[0]?.id ?? null;
  }

  async tenantNameById(id: string): Promise<string | null> {
    const rows = await this.unitOfWork.query<{ name: string }[]>(`SELECT name FROM tenants WHERE id = $1`, [id]);
    return rows[0]?.name ?? null;
  }

  /**
   * Creates the heads that are missing and locks them all, in the order given, in one statement:
   * an existing head is "updated" to itself, which locks it as FOR UPDATE would.
   */
  private async lockHeads(tenants: readonly (string | null)[]): Promise<Map<string | null, ChainHead>> {
    const rows = await this.unitOfWork.query<{ tenant_id: string | null; last_seq: string; last_hash: string }[]>(
      `INSERT INTO audit_chain_heads AS h (tenant_id, last_seq, last_hash)
       VALUES ${tenants.map((_, index) => `($${index + 2}::uuid, 0, $1)`).join(', ')}
       ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq
       RETURNING tenant_id, last_seq, last_hash`,
      [EMPTY_CHAIN.lastHash, ...tenants],
    );
    return new Map(rows.map((row) => [row.tenant_id, { lastSeq: Number(row.last_seq), lastHash: row.last_hash }]));
  }
}

/** Unidentified callers' chain first, then tenants by id: the one order every append locks heads in. */
function byTenant(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function whereOf(filter: AuditFilter): { conditions: string[]; parameters: unknown[] } {
  const conditions: string[] = [];
  const parameters: unknown[] = [];
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    parameters.push(value);
    conditions.push(sql(`$${parameters.length}`));
  };
  if (filter.tenantId === null) conditions.push('a.tenant_id IS NULL');
  else if (filter.tenantId !== undefined) add((p) => `a.tenant_id = ${p}`, filter.tenantId);
  if (filter.actor !== undefined) add((p) => `a.actor = ${p}`, filter.actor);
  if (filter.action !== undefined) add((p) => `a.action = ${p}`, filter.action);
  if (filter.resourceType !== undefined) add((p) => `a.resource_type = ${p}`, filter.resourceType);
  if (filter.resourceId !== undefined) add((p) => `a.resource_id = ${p}`, filter.resourceId);
  if (filter.outcome !== undefined) add((p) => `a.outcome = ${p}`, filter.outcome);
  if (filter.from !== undefined) add((p) => `a.occurred_at >= ${p}`, filter.from);
  if (filter.to !== undefined) add((p) => `a.occurred_at < ${p}`, filter.to);
  return { conditions, parameters };
}

function toEntry(row: EntryRow): AuditEntry {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    occurredAt: row.occurred_at,
    actor: row.actor,
    action: row.action as AuditAction,
    resourceType: row.resource_type as AuditResourceType,
    resourceId: row.resource_id,
    outcome: row.outcome as AuditOutcome,
    statusCode: row.status_code,
    requestId: row.request_id,
    clientIp: row.client_ip,
    userAgent: row.user_agent,
    occurrences: row.occurrences ?? 1,
  };
}

function toRecord(row: RecordRow): AuditRecord {
  return { ...toEntry(row), seq: Number(row.seq), prevHash: row.prev_hash, hash: row.hash };
}

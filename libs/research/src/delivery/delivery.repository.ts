import { UnitOfWork } from '@app/database';
import { Injectable } from '@nestjs/common';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export type DeliveryTrigger = 'terminal' | 'redeliver';

export interface DeliveryAttempt {
  n: number;
  attemptedAt: Date;
  outcome: string;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

export interface Delivery {
  id: string;
  tenantId: string;
  researchId: string;
  event: string;
  trigger: DeliveryTrigger;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: Date;
  nextAttemptAt: Date | null;
  finishedAt: Date | null;
}

export type DeliveryWithAttempts = Delivery & { log: DeliveryAttempt[] };

/** The next attempt of a delivery, as the dispatcher queues it. */
export interface DueDelivery {
  id: string;
  tenantId: string;
  researchId: string;
  /** The number of the next attempt. */
  attempt: number;
  nextAttemptAt: Date;
}

export interface RecordedAttempt extends Omit<DeliveryAttempt, 'n'> {
  /** Delivered, failed for good, or pending with `nextAttemptAt`. */
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
}

const DELIVERY_COLUMNS =
  'id, tenant_id, research_id, event, trigger, url, status, attempts, created_at, next_attempt_at, finished_at';

/** All SQL on webhook deliveries and their attempts. */
@Injectable()
export class DeliveryRepository {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  async find(tenantId: string, id: string): Promise<Delivery | null> {
    const rows = await this.unitOfWork.query<Record<string, unknown>[]>(
      `SELECT ${DELIVERY_COLUMNS} FROM research_deliveries WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    return rows[0] ? toDelivery(rows[0]) : null;
  }

  /** A research's deliveries, oldest first, each with its attempts in order. */
  async list(tenantId: string, researchId: string): Promise<DeliveryWithAttempts[]> {
    const rows = await this.unitOfWork.query<Record<string, unknown>[]>(
      `SELECT ${DELIVERY_COLUMNS.split(', ')
        .map((column) => `d.${column}`)
        .join(', ')},
              COALESCE(jsonb_agg(jsonb_build_object(
                'n', a.n, 'attempted_at', a.attempted_at, 'outcome', a.outcome, 'status_code', a.status_code,
                'duration_ms', a.duration_ms, 'error', a.error) ORDER BY a.n) FILTER (WHERE a.n IS NOT NULL),
                '[]'::jsonb) AS log
         FROM research_deliveries d
         LEFT JOIN research_delivery_attempts a ON a.delivery_id = d.id
        WHERE d.tenant_id = $1 AND d.research_id = $2
        GROUP BY d.id
        ORDER BY d.created_at, d.id`,
      [tenantId, researchId],
    );
    return rows.map((row) => ({
      ...toDelivery(row),
      log: (row.log as Record<string, unknown>[]).map((attempt) => ({
        n: attempt.n as number,
        attemptedAt: new Date(attempt.attempted_at as string),
        outcome: attempt.outcome as string,
        statusCode: (attempt.status_code ?? null) as number | null,
        durationMs: attempt.duration_ms as number,
        error: (attempt.error ?? null) as string | null,
      })),
    }));
  }

  /** A new delivery of the research's current terminal event, asked for by a user. */
  async insertRedelivery(
    tenantId: string,
    researchId: string,
    event: string,
    url: string,
    id: string,
  ): Promise<Delivery> {
    const rows = await this.unitOfWork.query<Record<string, unknown>[]>(
      `INSERT INTO research_deliveries (id, tenant_id, research_id, event, trigger, url, next_attempt_at)
       VALUES ($1, $2, $3, $4, 'redeliver', $5, now())
       RETURNING ${DELIVERY_COLUMNS}`,
      [id, tenantId, researchId, event, url],
    );
    return toDelivery(rows[0]!);
  }

  /** The pending deliveries of one research, with their next attempt. */
  async pendingOf(tenantId: string, researchId: string): Promise<DueDelivery[]> {
    const rows = await this.unitOfWork.query<Record<string, unknown>[]>(
      `SELECT id, tenant_id, research_id, attempts, next_attempt_at FROM research_deliveries
        WHERE tenant_id = $1 AND research_id = $2 AND status = 'pending'`,
      [tenantId, researchId],
    );
    return rows.map(toDue);
  }

  /** Pending deliveries whose next attempt is overdue by `graceMs`, across tenants: for the sweep. */
  async overdue(graceMs: number, limit: number): Promise<DueDelivery[]> {
    const rows = await this.unitOfWork.query<Record<string, unknown>[]>(
      `SELECT id, tenant_id, research_id, attempts, next_attempt_at FROM research_deliveries
        WHERE status = 'pending' AND next_attempt_at < now() - $1 * interval '1 millisecond'
        ORDER BY next_attempt_at
        LIMIT $2`,
      [graceMs, limit],
    );
    return rows.map(toDue);
  }

  /**
   * Records attempt `n` and what follows it, once: a second run of the same attempt (a job run
   * again after its worker died) records nothing and gets false.
   */
  async recordAttempt(tenantId: string, deliveryId: string, n: number, attempt: RecordedAttempt): Promise<boolean> {
    const rows = await this.unitOfWork.query<unknown[]>(
      `WITH updated AS (
         UPDATE research_deliveries
            SET attempts = $3, status = $4, next_attempt_at = $5,
                finished_at = CASE WHEN $4 = 'pending' THEN NULL ELSE now() END
          WHERE tenant_id = $1 AND id = $2 AND status = 'pending' AND attempts = $3 - 1
         RETURNING id, tenant_id
       )
       INSERT INTO research_delivery_attempts
         (delivery_id, n, tenant_id, attempted_at, outcome, status_code, duration_ms, error)
       SELECT id, $3, tenant_id, $6, $7, $8, $9, $10 FROM updated
       RETURNING n`,
      [
        tenantId,
        deliveryId,
        n,
        attempt.status,
        attempt.nextAttemptAt,
        attempt.attemptedAt,
        attempt.outcome,
        attempt.statusCode,
        attempt.durationMs,
        attempt.error,
      ],
    );
    return rows.length > 0;
  }
}

function toDelivery(row: Record<string, unknown>): Delivery {
  return {
    id: row.id as string,
    tenantId: row.tenant_id as string,
    researchId: row.research_id as string,
    event: row.event as string,
    trigger: row.trigger as DeliveryTrigger,
    url: row.url as string,
    status: row.status as DeliveryStatus,
    attempts: row.attempts as number,
    createdAt: row.created_at as Date,
    nextAttemptAt: (row.next_attempt_at ?? null) as Date | null,
    finishedAt: (row.finished_at ?? null) as Date | null,
  };
}

function toDue(row: Record<string, unknown>): DueDelivery {
  return {
    id: row.id as string,
    tenantId: row.tenant_id as string,
    researchId: row.research_id as string,
    attempt: (row.attempts as number) + 1,
    nextAttemptAt: row.next_attempt_at as Date,
  };
}

import { UnitOfWork, poolQuery } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ResearchEventType } from '../research-event-type';
import { ResearchParams } from '../research-params';
import { ResearchFailure, ResearchResult } from '../research-result';
import { CompletedStep, StoredSource } from '../research-runner';
import { ResearchStatus, statusesAllowing } from '../research-status';
import { ResearchEventEntity } from './research-event.entity';
import { ResearchEntity } from './research.entity';
import { ProgressStage, QUEUED, ResearchProgress } from '../research-progress';
import { REVIEWED_PLAN_STEP, ResearchPlan, planJson } from '../research-plan';

export interface NewResearch {
  id: string;
  tenantId: string;
  question: string;
  params: ResearchParams;
  requestId: string | null;
  idempotencyKey: string | null;
  idempotencyHash: string | null;
  createdAt: Date;
}

export interface ResearchPage {
  items: ResearchEntity[];
  /** Set when there may be more rows after the last item. */
  hasMore: boolean;
}

export interface PageRequest {
  limit: number;
  status?: ResearchStatus;
  after?: { createdAt: Date; id: string };
}

/** The tenant already runs as many researches as it may at once: this one waits its turn. */
export const OVER_TENANT_CAP = Symbol('over tenant cap');

/** A claimed research, the cap standing in its way, or null when it is not claimable at all. */
export type Claim = ResearchEntity | typeof OVER_TENANT_CAP | null;

/** The fencing token of one run: the research's `attempts` when the run claimed it. */
export interface RunFence {
  tenantId: string;
  researchId: string;
  token: number;
}

export interface UnfinishedResearch {
  tenantId: string;
  id: string;
  status: ResearchStatus.Pending | ResearchStatus.Running;
  requestId: string | null;
}

/** Why a research is cancelled other than by its caller: stored as its `error` and in its event. */
export interface CancelReason {
  error: ResearchFailure;
  /** Only a research awaiting review that has waited at least this long. */
  awaitingReviewForMs: number;
}

/** A research waiting for its plan review, across tenants. */
export interface AwaitingReview {
  tenantId: string;
  id: string;
  requestId: string | null;
}

export class IdempotencyConflict {
  constructor(readonly existing: ResearchEntity) {}
}

/**
 * The webhook outbox: a delivery of the research's terminal event to its callback URL, inserted
 * by the statement that ends the research (from the CTE `ended`, which returns the research's
 * `id`, `tenant_id` and `params`), so that an ended research with a callback URL always has one.
 * A research that stops for its plan review has one too: its caller must act before the timeout.
 */
const DELIVERY_OUTBOX = (ended: string, event: string, when = 'true') => `delivery AS (
         INSERT INTO research_deliveries (id, tenant_id, research_id, event, trigger, url, next_attempt_at)
         SELECT gen_random_uuid(), tenant_id, id, ${event}, 'terminal', params->>'callbackUrl', now()
           FROM ${ended} WHERE params ? 'callbackUrl' AND ${when}
       )`;

/** Whole milliseconds from a timestamp column to now. */
const MS_SINCE = (column: string) => `floor(extract(epoch FROM now() - ${column}) * 1000)::bigint`;

/** A research as its clients see it. */
export type ResearchView = Pick<
  ResearchEntity,
  | 'id'
  | 'question'
  | 'params'
  | 'status'
  | 'result'
  | 'error'
  | 'attempts'
  | 'createdAt'
  | 'updatedAt'
  | 'startedAt'
  | 'finishedAt'
  | 'progress'
>;

const VIEW_COLUMNS =
  'id, question, params, status, result, error, attempts, created_at, updated_at, started_at, finished_at, progress';

const RESEARCH_COLUMNS = `id, tenant_id, question, params, status, result, error, attempts, free_runs, waited_ms, event_seq, progress, request_id,
  idempotency_key, idempotency_hash, lease_expires_at, created_at, updated_at, started_at, finished_at`;

/**
 * All SQL on researches and their events. Every statement that changes a research's status also
 * appends its event in the same statement, and worker-side changes are fenced by the run's token
 * so a worker that lost its lease can no longer write. Every statement joins the caller's unit of
 * work when one is open.
 */
@Injectable()
export class ResearchRepository {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * Inserts a pending research with its `created` event in one statement. A research with the
   * same Idempotency-Key is a conflict answered without an error, so that a transaction around
   * the insert is not aborted by it.
   */
  async insert(research: NewResearch): Promise<ResearchEntity | IdempotencyConflict> {
    const rows = await this.unitOfWork.query<Record<string, unknown>[]>(
      `WITH inserted AS (
         INSERT INTO researches (id, tenant_id, question, params, status, attempts, event_seq, request_id,
                                 idempotency_key, idempotency_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4::jsonb, 'pending', 0, 1, $5, $6, $7, $8, $8)
         ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING ${RESEARCH_COLUMNS}
       ), event AS (
         INSERT INTO research_events (research_id, seq, tenant_id, type, data, created_at)
         SELECT id, 1, tenant_id, $9, '{}'::jsonb, created_at FROM inserted
       )
       SELECT * FROM inserted`,
      [
        research.id,
        research.tenantId,
        research.question,
        JSON.stringify(research.params),
        research.requestId,
        research.idempotencyKey,
        research.idempotencyHash,
        research.createdAt,
        ResearchEventType.Created,
      ],
      'research-insert',
    );
    if (rows[0]) return toResearch(rows[0]);
    // Only the Idempotency-Key can conflict; the statement waited for the other insert to commit.
    const existing = await this.findByIdempotencyKey(research.tenantId, research.idempotencyKey as string);
    if (!existing) throw new Error(`research ${research.id} was neither inserted nor found by its Idempotency-Key`);
    return new IdempotencyConflict(existing);
  }

  /**
   * What a client reads of one research (`GET /api/v1/research/{id}`): clients poll it, so it is
   * one SQL statement on the pool, for only the columns of the answer. TypeORM's `findOneBy`
   * (query builder, entity hydration) and its query runner were the largest user of the
   * request's CPU after the socket writes (docs/benchmarks.md).
   */
  async findView(tenantId: string, id: string): Promise<ResearchView | null> {
    const rows = await poolQuery(
      this.dataSource,
      `SELECT ${VIEW_COLUMNS} FROM researches WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
      'research-view',
    );
    return rows.length > 0 ? toView(rows[0]) : null;
  }

  async findByIdempotencyKey(tenantId: string, idempotencyKey: string): Promise<ResearchEntity | null> {
    return (await this.researches()).findOneBy({ tenantId, idempotencyKey });
  }

  /** Newest first, by (created_at, id) so the order is total and cursors are stable. */
  async list(tenantId: string, page: PageRequest): Promise<ResearchPage> {
    const query = (await this.researches())
      .createQueryBuilder('r')
      .select(['r.id', 'r.question', 'r.status', 'r.createdAt', 'r.startedAt', 'r.finishedAt', 'r.tenantId'])
      .where('r.tenant_id = :tenantId', { tenantId })
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(page.limit + 1);
    if (page.status) query.andWhere('r.status = :status', { status: page.status });
    if (page.after) {
      query.andWhere('(r.created_at, r.id) < (:afterCreatedAt, :afterId)', {
        afterCreatedAt: page.after.createdAt,
        afterId: page.after.id,
      });
    }
    const rows = await query.getMany();
    return { items: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
  }

  /**
   * Cancels a research that may still be cancelled (pending, running, awaiting review); null when
   * it was in no such state. With a reason, only a research that has waited for its plan review
   * that long: the reason is its `error` and its event's data. Every cancellation goes through
   * here.
   */
  async cancel(tenantId: string, id: string, reason?: CancelReason): Promise<ResearchEntity | null> {
    const from = reason ? [ResearchStatus.AwaitingReview] : statusesAllowing(ResearchStatus.Cancelled);
    const rows = await this.unitOfWork.query<Record<string, unknown>[]>(
      `WITH cancelled AS (
         UPDATE researches
            SET status = 'cancelled', finished_at = now(), updated_at = now(), lease_expires_at = NULL,
                error = COALESCE($5::jsonb, error), event_seq = event_seq + 1
          WHERE tenant_id = $1 AND id = $2 AND status = ANY($4::text[])
            AND ($6::bigint IS NULL OR updated_at <= now() - $6 * interval '1 millisecond')
         RETURNING ${RESEARCH_COLUMNS}
       ), event AS (
         INSERT INTO research_events (research_id, seq, tenant_id, type, data)
         SELECT id, event_seq, tenant_id, $3, COALESCE($5::jsonb, '{}'::jsonb) FROM cancelled
       ), ${DELIVERY_OUTBOX('cancelled', '$3')}
       SELECT * FROM cancelled`,
      [
        tenantId,
        id,
        ResearchEventType.Cancelled,
        from,
        reason ? JSON.stringify(reason.error) : null,
        reason?.awaitingReviewForMs ?? null,
      ],
    );
    return rows.length > 0 ? toResearch(rows[0]) : null;
  }

  /**
   * Moves a research to running for one run: from pending, or from running whose lease expired
   * (its worker died). Only one caller can win; the winner gets the research with its new token.
   */
  async claim(tenantId: string, id: string, leaseMs: number, maxRunning = 0): Promise<Claim> {
    if (maxRunning <= 0) return this.claimWith(tenantId, id, leaseMs);
    return this.unitOfWork.run(async () => {
      // One claim at a time per tenant, so that two workers cannot both take the last place.
      await this.unitOfWork.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`tenant-runs:${tenantId}`]);
      const [row] = await this.unitOfWork.query<{ running: number }[]>(
        `SELECT count(*)::int AS running FROM researches
          WHERE tenant_id = $1 AND id <> $2 AND status = 'running' AND lease_expires_at > now()`,
        [tenantId, id],
      );
      if ((row?.running ?? 0) < maxRunning) return this.claimWith(tenantId, id, leaseMs);
      const state = await this.currentRunState(tenantId, id);
      const claimable = state?.status === ResearchStatus.Pending || state?.status === ResearchStatus.Running;
      return claimable ? OVER_TENANT_CAP : null;
    });
  }

  private async claimWith(tenantId: string, id: string, leaseMs: number): Promise<Claim> {
    const rows = await this.unitOfWork.query<Record<string, unknown>[]>(
      `WITH claimed AS (
         UPDATE researches
            SET status = 'running', attempts = attempts + 1, event_seq = event_seq + 1,
                waited_ms = waited_ms + CASE WHEN status = 'pending' AND started_at IS NOT NULL
                                             THEN ${MS_SINCE('updated_at')} ELSE 0 END,
                started_at = COALESCE(started_at, now()), updated_at = now(),
                lease_expires_at = now() + $3 * interval '1 millisecond'
          WHERE tenant_id = $1 AND id = $2
            AND (status = 'pending' OR (status = 'running' AND lease_expires_at < now()))
         RETURNING ${RESEARCH_COLUMNS}
       ), event AS (
         INSERT INTO research_events (research_id, seq, tenant_id, type, data)
         SELECT id, event_seq, tenant_id, $4, jsonb_build_object('attempt', attempts) FROM claimed
       )
       SELECT * FROM claimed`,
      [tenantId, id, leaseMs, ResearchEventType.Started],
    );
    return rows.length > 0 ? toResearch(rows[0]) : null;
  }

  /** Extends the lease of a run; false when the run no longer owns the research. */
  async renewLease(fence: RunFence, leaseMs: number): Promise<boolean> {
    // Wrapped in a CTE: TypeORM answers a bare UPDATE with [rows, count] instead of the rows.
    const rows = await this.unitOfWork.query<unknown[]>(
      `WITH renewed AS (
         UPDATE researches SET lease_expires_at = now() + $4 * interval '1 millisecond'
          WHERE tenant_id = $1 AND id = $2 AND status = 'running' AND attempts = $3
         RETURNING id
       )
       SELECT id FROM renewed`,
      [fence.tenantId, fence.researchId, fence.token, leaseMs],
    );
    return rows.length > 0;
  }

  /**
   * Appends an event on behalf of a run, with the progress it brings the research to; false when
   * the run no longer owns the research.
   */
  async appendRunEvent(
    fence: RunFence,
    type: string,
    data: Record<string, unknown>,
    progress: ResearchProgress,
  ): Promise<boolean> {
    const rows = await this.unitOfWork.query<unknown[]>(
      `WITH bumped AS (
         UPDATE researches SET event_seq = event_seq + 1, progress = $6::jsonb
          WHERE tenant_id = $1 AND id = $2 AND status = 'running' AND attempts = $3
         RETURNING id, tenant_id, event_seq
       )
       INSERT INTO research_events (research_id, seq, tenant_id, type, data)
       SELECT id, event_seq, tenant_id, $4, $5::jsonb FROM bumped
       RETURNING seq`,
      [fence.tenantId, fence.researchId, fence.token, type, JSON.stringify(data), JSON.stringify(progress)],
    );
    return rows.length > 0;
  }

  complete(fence: RunFence, result: ResearchResult): Promise<boolean> {
    return this.finishRun(fence, 'completed', ResearchEventType.Completed, {
      result,
      eventData: { engine: result.engine, evidence: result.evidence, partial: result.partial },
    });
  }

  fail(fence: RunFence, error: ResearchFailure): Promise<boolean> {
    return this.finishRun(fence, 'failed', ResearchEventType.Failed, { error, eventData: { ...error } });
  }

  /**
   * Gives the research back to the queue (`pending`), for a retry or another worker. A
   * hand-back (shutdown, a dependency down) is a free run: it does not count towards giving up.
   */
  release(fence: RunFence, type: ResearchEventType, error: ResearchFailure | null): Promise<boolean> {
    return this.finishRun(fence, 'pending', type, {
      error,
      eventData: error ? { ...error } : {},
      freeRun: type === ResearchEventType.HandedBack,
    });
  }

  /**
   * Ends a run that stopped after planning for its plan to be reviewed: the research waits in
   * `awaiting_review`, held by no worker, with the plan in its event. The run counts as free:
   * it did what it was asked.
   */
  awaitReview(fence: RunFence, plan: ResearchPlan, fallback: boolean): Promise<boolean> {
    return this.finishRun(fence, 'awaiting_review', ResearchEventType.PlanAwaitingReview, {
      eventData: { plan: planJson(plan), fallback },
      freeRun: true,
      progressStage: 'awaiting_review',
    });
  }

  /**
   * Stores the reviewed plan as the step the next run reads instead of planning, and puts the
   * research back to `pending`: one statement, so that neither happens without the other. The
   * time spent waiting for the review is not charged to its time budget. Null when the research
   * was not awaiting review.
   */
  async continueAfterReview(
    tenantId: string,
    id: string,
    plan: ResearchPlan,
    edited: boolean,
  ): Promise<ResearchEntity | null> {
    const rows = await this.unitOfWork.query<Record<string, unknown>[]>(
      `WITH reviewed AS (
         UPDATE researches
            SET status = 'pending', waited_ms = waited_ms + ${MS_SINCE('updated_at')}, updated_at = now(),
                progress = COALESCE(progress, $7::jsonb) || '{"stage": "queued"}'::jsonb, event_seq = event_seq + 1
          WHERE tenant_id = $1 AND id = $2 AND status = 'awaiting_review'
         RETURNING ${RESEARCH_COLUMNS}
       ), step AS (
         INSERT INTO research_steps (research_id, tenant_id, step, data, usage, attempt)
         SELECT id, tenant_id, $3, $4::jsonb, '{}'::jsonb, attempts FROM reviewed
         ON CONFLICT (research_id, step) DO UPDATE SET data = EXCLUDED.data
       ), event AS (
         INSERT INTO research_events (research_id, seq, tenant_id, type, data)
         SELECT id, event_seq, tenant_id, $5, $6::jsonb FROM reviewed
       )
       SELECT * FROM reviewed`,
      [
        tenantId,
        id,
        REVIEWED_PLAN_STEP,
        JSON.stringify(plan),
        ResearchEventType.PlanReviewed,
        JSON.stringify({ edited, plan: planJson(plan) }),
        JSON.stringify(QUEUED),
      ],
    );
    return rows.length > 0 ? toResearch(rows[0]) : null;
  }

  /** The data of one completed step of a research, or undefined. */
  async findStepData(tenantId: string, researchId: string, step: string): Promise<unknown> {
    const rows: { data: unknown }[] = await this.unitOfWork.query(
      `SELECT data FROM research_steps WHERE tenant_id = $1 AND research_id = $2 AND step = $3`,
      [tenantId, researchId, step],
    );
    return rows[0]?.data;
  }

  /**
   * Researches whose plan has waited for review at least `ms`, oldest first, across all tenants:
   * the reconciler cancels them.
   */
  async findAwaitingReviewAcrossTenants(ms: number, limit: number): Promise<AwaitingReview[]> {
    const rows: { tenant_id: string; id: string; request_id: string | null }[] = await this.unitOfWork.query(
      `SELECT tenant_id, id, request_id FROM researches
        WHERE status = 'awaiting_review' AND updated_at <= now() - $1 * interval '1 millisecond'
        ORDER BY updated_at
        LIMIT $2`,
      [ms, limit],
    );
    return rows.map((row) => ({ tenantId: row.tenant_id, id: row.id, requestId: row.request_id }));
  }

  /** How many researches wait for their plan review, across all tenants: a gauge. */
  async countAwaitingReviewAcrossTenants(): Promise<number> {
    const rows = await this.unitOfWork.query<{ waiting: number }[]>(
      `SELECT count(*)::int AS waiting FROM researches WHERE status = 'awaiting_review'`,
    );
    return rows[0]?.waiting ?? 0;
  }

  /**
   * Puts a failed research back to `pending` to run again from its checkpoints: its earlier
   * runs no longer count towards giving up, and the time it spent failed is not charged to its
   * time budget. Null when it was not failed.
   */
  async retry(tenantId: string, id: string): Promise<ResearchEntity | null> {
    const rows = await this.unitOfWork.query<Record<string, unknown>[]>(
      `WITH retried AS (
         UPDATE researches
            SET status = 'pending', error = NULL, result = NULL, finished_at = NULL, lease_expires_at = NULL,
                free_runs = attempts, waited_ms = waited_ms + ${MS_SINCE('COALESCE(finished_at, now())')},
                updated_at = now(), event_seq = event_seq + 1
          WHERE tenant_id = $1 AND id = $2 AND status = 'failed'
         RETURNING ${RESEARCH_COLUMNS}
       ), event AS (
         INSERT INTO research_events (research_id, seq, tenant_id, type, data)
         SELECT id, event_seq, tenant_id, $3, jsonb_build_object('runs_before', attempts) FROM retried
       )
       SELECT * FROM retried`,
      [tenantId, id, ResearchEventType.Retried],
    );
    return rows.length > 0 ? toResearch(rows[0]) : null;
  }

  async currentRunState(tenantId: string, id: string): Promise<Pick<ResearchEntity, 'status' | 'attempts'> | null> {
    return (await this.researches()).findOne({ select: { status: true, attempts: true }, where: { tenantId, id } });
  }

  /**
   * Unfinished researches that may have lost their job: pending for longer than the grace period,
   * or running with an expired lease. Across all tenants: the reconciler works for every tenant.
   */
  async findUnfinishedAcrossTenants(graceMs: number, limit: number): Promise<UnfinishedResearch[]> {
    const rows: { tenant_id: string; id: string; status: UnfinishedResearch['status']; request_id: string | null }[] =
      await this.unitOfWork.query(
        `SELECT tenant_id, id, status, request_id FROM researches
        WHERE (status = 'pending' AND updated_at < now() - $1 * interval '1 millisecond')
           OR (status = 'running' AND lease_expires_at < now())
        ORDER BY updated_at
        LIMIT $2`,
        [graceMs, limit],
      );
    return rows.map((row) => ({ tenantId: row.tenant_id, id: row.id, status: row.status, requestId: row.request_id }));
  }

  /** Records that a research was put back on the queue by the reconciler. */
  async appendSystemEvent(tenantId: string, id: string, type: string, data: Record<string, unknown>): Promise<void> {
    await this.unitOfWork.query(
      `WITH bumped AS (
         UPDATE researches SET event_seq = event_seq + 1 WHERE tenant_id = $1 AND id = $2
         RETURNING id, tenant_id, event_seq
       )
       INSERT INTO research_events (research_id, seq, tenant_id, type, data)
       SELECT id, event_seq, tenant_id, $3, $4::jsonb FROM bumped`,
      [tenantId, id, type, JSON.stringify(data)],
    );
  }

  /** Records a completed step; false when the run no longer owns the research. */
  async saveStep(fence: RunFence, step: string, data: unknown, usage: Record<string, unknown>): Promise<boolean> {
    const rows = await this.unitOfWork.query<unknown[]>(
      `INSERT INTO research_steps (research_id, tenant_id, step, data, usage, attempt)
       SELECT r.id, r.tenant_id, $4, $5::jsonb, $6::jsonb, r.attempts FROM researches r
        WHERE r.tenant_id = $1 AND r.id = $2 AND r.status = 'running' AND r.attempts = $3
       ON CONFLICT (research_id, step) DO UPDATE SET step = EXCLUDED.step
       RETURNING step`,
      [fence.tenantId, fence.researchId, fence.token, step, JSON.stringify(data), JSON.stringify(usage)],
    );
    return rows.length > 0;
  }

  async loadSteps(tenantId: string, researchId: string): Promise<Map<string, CompletedStep>> {
    const rows: { step: string; data: unknown; usage: Record<string, unknown> }[] = await this.unitOfWork.query(
      `SELECT step, data, usage FROM research_steps WHERE tenant_id = $1 AND research_id = $2 ORDER BY created_at`,
      [tenantId, researchId],
    );
    return new Map(rows.map((row) => [row.step, { data: row.data, usage: row.usage }]));
  }

  /** Stores the sources of a run; false when the run no longer owns the research. */
  async saveSources(fence: RunFence, sources: StoredSource[]): Promise<boolean> {
    const rows = await this.unitOfWork.query<unknown[]>(
      `WITH owner AS (
         SELECT id, tenant_id FROM researches
          WHERE tenant_id = $1 AND id = $2 AND status = 'running' AND attempts = $3
       ), inserted AS (
         INSERT INTO research_sources
           (research_id, n, tenant_id, kind, provider, document_id, url, final_url, title, http_status, media_type,
            content_hash, text, retrieved_at)
         SELECT owner.id, s.n, owner.tenant_id, s.kind, s.provider, s.document_id, s.url, s.final_url, s.title,
                s.http_status, s.media_type, s.content_hash, s.text, s.retrieved_at
           FROM owner, jsonb_to_recordset($4::jsonb) AS s(n int, kind text, provider text, document_id uuid, url text,
                final_url text, title text, http_status int, media_type text, content_hash text, text text,
                retrieved_at timestamptz)
         ON CONFLICT (research_id, n) DO NOTHING
       )
       SELECT id FROM owner`,
      [fence.tenantId, fence.researchId, fence.token, JSON.stringify(sources.map(sourceRow))],
    );
    return rows.length > 0;
  }

  async loadSources(tenantId: string, researchId: string): Promise<StoredSource[]> {
    const rows: SourceRow[] = await this.unitOfWork.query(
      `SELECT ${SOURCE_COLUMNS} FROM research_sources WHERE tenant_id = $1 AND research_id = $2 ORDER BY n`,
      [tenantId, researchId],
    );
    return rows.map(storedSource);
  }

  /** The sources of a research without their text, which can be long: its length instead. */
  async listSourceSummaries(tenantId: string, researchId: string): Promise<StoredSourceSummary[]> {
    const rows: (Omit<SourceRow, 'text'> & { length: number })[] = await this.unitOfWork.query(
      `SELECT ${SOURCE_COLUMNS.replace(', text,', ',')}, text_length AS length
         FROM research_sources
        WHERE tenant_id = $1 AND research_id = $2 ORDER BY n`,
      [tenantId, researchId],
    );
    return rows.map(({ length, ...row }) => {
      const { text: _text, ...source } = storedSource({ ...row, text: '' });
      return { ...source, length };
    });
  }

  /** One stored source of a research, or null. */
  async findSource(tenantId: string, researchId: string, n: number): Promise<StoredSource | null> {
    const rows: SourceRow[] = await this.unitOfWork.query(
      `SELECT ${SOURCE_COLUMNS} FROM research_sources WHERE tenant_id = $1 AND research_id = $2 AND n = $3`,
      [tenantId, researchId, n],
    );
    return rows[0] ? storedSource(rows[0]) : null;
  }

  async listEvents(tenantId: string, researchId: string, afterSeq = 0): Promise<ResearchEventEntity[]> {
    return (await this.unitOfWork.manager())
      .getRepository(ResearchEventEntity)
      .createQueryBuilder('e')
      .where('e.tenant_id = :tenantId AND e.research_id = :researchId AND e.seq > :afterSeq', {
        tenantId,
        researchId,
        afterSeq,
      })
      .orderBy('e.seq', 'ASC')
      .getMany();
  }

  private async researches() {
    return (await this.unitOfWork.manager()).getRepository(ResearchEntity);
  }

  private async finishRun(
    fence: RunFence,
    status: 'completed' | 'failed' | 'pending' | 'awaiting_review',
    eventType: ResearchEventType,
    values: {
      result?: ResearchResult;
      error?: ResearchFailure | null;
      eventData: Record<string, unknown>;
      freeRun?: boolean;
      /** The stage the progress shows from now on; unchanged when absent. */
      progressStage?: ProgressStage;
    },
  ): Promise<boolean> {
    const terminal = status === 'completed' || status === 'failed';
    const progress =
      status === 'completed'
        ? { stage: 'done', percent: 100 }
        : values.progressStage
          ? { stage: values.progressStage }
          : null;
    const rows = await this.unitOfWork.query<unknown[]>(
      `WITH finished AS (
         UPDATE researches
            SET status = $4, result = $5::jsonb, error = $6::jsonb, lease_expires_at = NULL, updated_at = now(),
                finished_at = CASE WHEN $7::boolean THEN now() ELSE NULL END, event_seq = event_seq + 1,
                free_runs = free_runs + CASE WHEN $10::boolean THEN 1 ELSE 0 END,
                progress = CASE WHEN $12::jsonb IS NULL THEN progress
                                ELSE COALESCE(progress, $11::jsonb) || $12::jsonb END
          WHERE tenant_id = $1 AND id = $2 AND status = 'running' AND attempts = $3
         RETURNING id, tenant_id, event_seq, params
       ), ${DELIVERY_OUTBOX('finished', '$8', "($7::boolean OR $4 = 'awaiting_review')")}
       INSERT INTO research_events (research_id, seq, tenant_id, type, data)
       SELECT id, event_seq, tenant_id, $8, $9::jsonb FROM finished
       RETURNING seq`,
      [
        fence.tenantId,
        fence.researchId,
        fence.token,
        status,
        values.result ? JSON.stringify(values.result) : null,
        values.error ? JSON.stringify(values.error) : null,
        terminal,
        eventType,
        JSON.stringify(values.eventData),
        values.freeRun ?? false,
        JSON.stringify(QUEUED),
        progress ? JSON.stringify(progress) : null,
      ],
    );
    return rows.length > 0;
  }
}

function toView(row: Record<string, unknown>): ResearchView {
  return {
    id: row.id as string,
    question: row.question as string,
    params: row.params as ResearchParams,
    status: row.status as ResearchStatus,
    result: (row.result ?? null) as ResearchResult | null,
    error: (row.error ?? null) as ResearchFailure | null,
    attempts: row.attempts as number,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
    startedAt: (row.started_at ?? null) as Date | null,
    finishedAt: (row.finished_at ?? null) as Date | null,
    progress: (row.progress ?? null) as ResearchProgress | null,
  };
}

function toResearch(row: Record<string, unknown>): ResearchEntity {
  return Object.assign(new ResearchEntity(), {
    id: row.id as string,
    tenantId: row.tenant_id as string,
    question: row.question as string,
    params: row.params as ResearchParams,
    status: row.status as ResearchStatus,
    result: (row.result ?? null) as ResearchResult | null,
    error: (row.error ?? null) as ResearchFailure | null,
    attempts: row.attempts as number,
    freeRuns: row.free_runs as number,
    waitedMs: Number(row.waited_ms),
    eventSeq: row.event_seq as number,
    progress: (row.progress ?? null) as ResearchProgress | null,
    requestId: (row.request_id ?? null) as string | null,
    idempotencyKey: (row.idempotency_key ?? null) as string | null,
    idempotencyHash: (row.idempotency_hash ?? null) as string | null,
    leaseExpiresAt: (row.lease_expires_at ?? null) as Date | null,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
    startedAt: (row.started_at ?? null) as Date | null,
    finishedAt: (row.finished_at ?? null) as Date | null,
  });
}

/** A stored source without its text. */
export type StoredSourceSummary = Omit<StoredSource, 'text'> & {
  /** Of the text, in UTF-16 code units as finding offsets count (a character outside the BMP counts 2). */
  length: number;
};

/** research_sources as PostgreSQL returns it, and as saveSources sends it (dates as ISO text). */
interface SourceRow {
  n: number;
  kind: 'document' | 'web';
  provider: string;
  document_id: string | null;
  url: string | null;
  final_url: string | null;
  title: string;
  http_status: number | null;
  media_type: string | null;
  content_hash: string;
  text: string;
  retrieved_at: Date | string;
}

const SOURCE_COLUMNS =
  'n, kind, provider, document_id, url, final_url, title, http_status, media_type, content_hash, text, retrieved_at';

function sourceRow(source: StoredSource): SourceRow {
  return {
    n: source.n,
    kind: source.kind,
    provider: source.provider,
    document_id: source.documentId,
    url: source.url,
    final_url: source.finalUrl,
    title: source.title,
    http_status: source.httpStatus,
    media_type: source.mediaType,
    content_hash: source.contentHash,
    text: source.text,
    retrieved_at: source.retrievedAt.toISOString(),
  };
}

function storedSource(row: SourceRow): StoredSource {
  return {
    n: row.n,
    kind: row.kind,
    provider: row.provider,
    documentId: row.document_id,
    url: row.url,
    finalUrl: row.final_url,
    title: row.title,
    httpStatus: row.http_status,
    mediaType: row.media_type,
    contentHash: row.content_hash,
    text: row.text,
    retrievedAt: new Date(row.retrieved_at),
  };
}

import { Column, Entity, PrimaryColumn } from 'typeorm';
import { ResearchParams } from '../research-params';
import { ResearchFailure, ResearchResult } from '../research-result';
import { ResearchStatus } from '../research-status';
import { ResearchProgress } from '../research-progress';

@Entity('researches')
export class ResearchEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId: string;

  @Column('text')
  question: string;

  @Column('jsonb')
  params: ResearchParams;

  @Column('text')
  status: ResearchStatus;

  @Column('jsonb', { nullable: true })
  result: ResearchResult | null;

  /** The last failure; kept while a retry is pending so the reason is visible. */
  @Column('jsonb', { nullable: true })
  error: ResearchFailure | null;

  /** How many times a worker claimed the research; also the fencing token of the current run. */
  @Column('int')
  attempts: number;

  /** Runs that do not count towards giving up: hand-backs, and every run before a retry. */
  @Column('int', { name: 'free_runs' })
  freeRuns: number;

  /** Time spent waiting to run again after the first start; the time budget does not count it. */
  @Column('bigint', { name: 'waited_ms', transformer: { to: (value: number) => value, from: Number } })
  waitedMs: number;

  @Column('int', { name: 'event_seq' })
  eventSeq: number;

  /** How far the research has come, as its worker last recorded it; null before its first run's events. */
  @Column('jsonb', { nullable: true })
  progress: ResearchProgress | null;

  @Column('text', { name: 'request_id', nullable: true })
  requestId: string | null;

  @Column('text', { name: 'idempotency_key', nullable: true })
  idempotencyKey: string | null;

  @Column('text', { name: 'idempotency_hash', nullable: true })
  idempotencyHash: string | null;

  @Column('timestamptz', { name: 'lease_expires_at', nullable: true })
  leaseExpiresAt: Date | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt: Date | null;
}

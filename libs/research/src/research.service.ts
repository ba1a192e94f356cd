import { createHash, randomUUID } from 'node:crypto';
import { NotFoundError } from '@app/common';
import { Metric } from '@app/observability';
import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { decodeCursor, encodeCursor } from './research-cursor';
import { ResearchParams } from './research-params';
import { ResearchStatus } from './research-status';
import { IdempotencyKeyReusedError, ResearchNotCancellableError } from './research.errors';
import { ResearchEntity } from './persistence/research.entity';
import { IdempotencyConflict, ResearchRepository } from './persistence/research.repository';
import { ResearchQueueProducer } from './queue/research-queue.producer';

export interface CreateResearchCommand {
  tenantId: string;
  question: string;
  params: ResearchParams;
  requestId: string | null;
  idempotencyKey: string | null;
}

export interface CreateResearchOutcome {
  research: ResearchEntity;
  /** True when an earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

export interface ListResearchesQuery {
  tenantId: string;
  limit: number;
  cursor?: string;
  status?: ResearchStatus;
}

export interface ResearchList {
  items: ResearchEntity[];
  nextCursor: string | null;
}

@Injectable()
export class ResearchService {
  private readonly logger = new Logger(ResearchService.name);

  constructor(
    private readonly repository: ResearchRepository,
    private readonly producer: ResearchQueueProducer,
    @InjectMetric(Metric.Submitted) private readonly submitted: Counter<string>,
  ) {}

  /** Stores the research, then queues it. Once stored it is never lost, even if Redis is down. */
  async create(command: CreateResearchCommand): Promise<CreateResearchOutcome> {
    const idempotencyHash = command.idempotencyKey ? requestHash(command) : null;
    if (command.idempotencyKey) {
      const existing = await this.repository.findByIdempotencyKey(command.tenantId, command.idempotencyKey);
      if (existing) return this.replayed(existing, idempotencyHash);
    }

    const inserted = await this.repository.insert({
      id: randomUUID(),
      tenantId: command.tenantId,
      question: command.question,
      params: command.params,
      requestId: command.requestId,
      idempotencyKey: command.idempotencyKey,
      idempotencyHash,
      createdAt: new Date(),
    });
    if (inserted instanceof IdempotencyConflict) return this.replayed(inserted.existing, idempotencyHash);

    const enqueued = await this.producer.enqueue({
      researchId: inserted.id,
      tenantId: inserted.tenantId,
      requestId: command.requestId,
    });
    this.submitted.inc({ outcome: enqueued ? 'accepted' : 'enqueue_deferred' });
    this.logger.log({ research_id: inserted.id }, 'research accepted');
    return { research: inserted, replayed: false };
  }

  async get(tenantId: string, id: string): Promise<ResearchEntity> {
    const research = await this.repository.findById(tenantId, id);
    if (!research) throw new NotFoundError('research', id);
    return research;
  }

  async list(query: ListResearchesQuery): Promise<ResearchList> {
    const page = await this.repository.list(query.tenantId, {
      limit: query.limit,
      status: query.status,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    const last = page.items.at(-1);
    return { items: page.items, nextCursor: page.hasMore && last ? encodeCursor(last) : null };
  }

  /**
   * Cancels a pending or running research. A running one stops at its next step: the worker
   * sees the status. Cancelling a cancelled research again is answered with it, unchanged.
   */
  async cancel(tenantId: string, id: string): Promise<ResearchEntity> {
    const cancelled = await this.repository.cancel(tenantId, id);
    if (cancelled) {
      // A pending job would only be skipped by the worker; take it off the queue now.
      await this.producer.removeIdle(id).catch((error: Error) => {
        this.logger.warn(`could not remove the job of cancelled research ${id}: ${error.message}`);
      });
      this.logger.log({ research_id: id }, 'research cancelled');
      return cancelled;
    }
    const current = await this.get(tenantId, id);
    if (current.status === ResearchStatus.Cancelled) return current;
    throw new ResearchNotCancellableError(id, current.status);
  }

  private replayed(existing: ResearchEntity, hash: string | null): CreateResearchOutcome {
    if (existing.idempotencyHash !== hash) throw new IdempotencyKeyReusedError(existing.id);
    this.submitted.inc({ outcome: 'replayed' });
    return { research: existing, replayed: true };
  }
}

/** The hash of what a request asks for, after defaults: same request, same hash. */
function requestHash(command: CreateResearchCommand): string {
  const { maxSources, verify, language } = command.params;
  return createHash('sha256')
    .update(JSON.stringify([command.question, maxSources, verify, language]))
    .digest('hex');
}

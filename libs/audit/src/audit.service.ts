import { decodeCursor, encodeCursor } from '@app/common';
import { AppConfig } from '@app/config';
import { UnitOfWork } from '@app/database';
import { Injectable } from '@nestjs/common';
import { AuditOutcome, DATA_READS } from './audit-action';
import { ChainVerdict, ChainVerifier } from './audit-chain';
import { AuditEntry } from './audit-record';
import { AuditWriter } from './audit.writer';
import { AuditFilter, AuditRepository, ListedAuditRecord, StoredChain } from './persistence/audit.repository';

export interface AuditQuery extends AuditFilter {
  limit: number;
  cursor?: string;
}

export interface AuditList {
  items: ListedAuditRecord[];
  nextCursor: string | null;
}

export interface ChainVerification extends ChainVerdict {
  tenantId: string | null;
  tenantName: string | null;
}

export interface AuditExportFilter {
  /** One tenant's chain (null: unidentified callers'); every chain when undefined. */
  tenantId?: string | null;
  from?: Date;
  to?: Date;
}

/** Records read at a time when walking a chain. */
const CHAIN_PAGE = 1000;

/** The audit trail: recording, reviewing, verifying and exporting it. */
@Injectable()
export class AuditService {
  constructor(
    private readonly repository: AuditRepository,
    private readonly writer: AuditWriter,
    private readonly unitOfWork: UnitOfWork,
    private readonly config: AppConfig,
  ) {}

  /**
   * Records a change in the unit of work that makes it, before it commits: the change and its
   * record are stored together, or neither is. The record goes to the outbox, and from there into
   * its chain with the writer's next batch.
   */
  async recordInTransaction(entry: AuditEntry): Promise<void> {
    if (!this.unitOfWork.active) throw new Error('a change is recorded inside the unit of work that makes it');
    await this.repository.enqueue(entry);
    this.unitOfWork.afterCommit(() => this.writer.chainOutboxSoon());
  }

  /** Records a read, a failure or a refusal: written in a batch shortly after. */
  record(entry: AuditEntry): void {
    if (!this.config.audit.reads && DATA_READS.has(entry.action) && entry.outcome !== AuditOutcome.Denied) return;
    this.writer.add(entry);
  }

  /** Newest first, a page at a time. */
  async list(query: AuditQuery): Promise<AuditList> {
    const page = await this.repository.list(query, query.limit, query.cursor ? decodeCursor(query.cursor) : undefined);
    const last = page.items.at(-1);
    return {
      items: page.items,
      nextCursor: page.hasMore && last ? encodeCursor({ createdAt: last.occurredAt, id: last.id }) : null,
    };
  }

  /** Walks one tenant's chain (null: the unidentified callers'), or every chain when undefined. */
  async verify(tenantId?: string | null): Promise<ChainVerification[]> {
    const verified: ChainVerification[] = [];
    for (const chain of await this.repository.chains(tenantId)) {
      verified.push({ tenantId: chain.tenantId, tenantName: chain.tenantName, ...(await this.verifyChain(chain)) });
    }
    return verified;
  }

  /** Records in chain order, chain by chain, for archiving: each line can be verified again. */
  async *export(filter: AuditExportFilter = {}): AsyncGenerator<ListedAuditRecord> {
    for (const chain of await this.repository.chains(filter.tenantId)) {
      let after = 0;
      for (;;) {
        const page = await this.repository.chainPage(chain.tenantId, after, null, CHAIN_PAGE, filter);
        for (const record of page) yield { ...record, tenantName: chain.tenantName };
        if (page.length < CHAIN_PAGE) break;
        after = page[page.length - 1]!.seq;
      }
    }
  }

  tenantIdByName(name: string): Promise<string | null> {
    return this.repository.tenantIdByName(name);
  }

  /**
   * Reads up to the head as it was when the walk began: records appended meanwhile come after
   * it, and a record and its head always commit together.
   */
  private async verifyChain(chain: StoredChain): Promise<ChainVerdict> {
    const verifier = new ChainVerifier();
    let after = 0;
    for (;;) {
      const page = await this.repository.chainPage(chain.tenantId, after, chain.head?.lastSeq ?? null, CHAIN_PAGE);
      for (const record of page) {
        if (!verifier.check(record)) return verifier.finish(chain.head);
      }
      if (page.length < CHAIN_PAGE) return verifier.finish(chain.head);
      after = page[page.length - 1]!.seq;
    }
  }
}

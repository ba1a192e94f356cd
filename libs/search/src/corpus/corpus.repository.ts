import { isProgramLimitExceeded, isUniqueViolation, withCancellableConnection } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { DocumentNotIndexableError } from './corpus.errors';
import { DocumentEntity } from './document.entity';

export interface DocumentPage {
  items: DocumentEntity[];
  hasMore: boolean;
}

export interface ScoredDocument {
  document: DocumentEntity;
  score: number;
}

const LISTED_COLUMNS = ['d.id', 'd.tenantId', 'd.title', 'd.url', 'd.metadata', 'd.contentHash', 'd.createdAt'];

@Injectable()
export class CorpusRepository {
  constructor(
    @InjectRepository(DocumentEntity)
    private readonly documents: Repository<DocumentEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Stores the document, or returns the one with the same text already stored for the tenant. */
  async insertOrGetExisting(document: DocumentEntity): Promise<{ document: DocumentEntity; created: boolean }> {
    try {
      await this.documents.insert(document as QueryDeepPartialEntity<DocumentEntity>);
      return { document, created: true };
    } catch (error) {
      if (isProgramLimitExceeded(error)) throw new DocumentNotIndexableError();
      if (!isUniqueViolation(error, 'documents_tenant_content_hash_uq')) throw error;
      const existing = await this.documents.findOneByOrFail({
        tenantId: document.tenantId,
        contentHash: document.contentHash,
      });
      return { document: existing, created: false };
    }
  }

  findById(tenantId: string, id: string): Promise<DocumentEntity | null> {
    return this.documents.findOneBy({ tenantId, id });
  }

  async list(tenantId: string, limit: number, after?: { createdAt: Date; id: string }): Promise<DocumentPage> {
    const query = this.documents
      .createQueryBuilder('d')
      .select(LISTED_COLUMNS)
      .where('d.tenant_id = :tenantId', { tenantId })
      .orderBy('d.created_at', 'DESC')
      .addOrderBy('d.id', 'DESC')
      .limit(limit + 1);
    if (after) query.andWhere('(d.created_at, d.id) < (:createdAt, :id)', after);
    const rows = await query.getMany();
    return { items: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    const result = await this.documents.delete({ tenantId, id });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Full-text search: documents matching any of the terms, best first. Terms are joined with
   * `or` for websearch_to_tsquery, which never fails on odd input.
   */
  async search(
    tenantId: string,
    terms: readonly string[],
    limit: number,
    signal?: AbortSignal,
  ): Promise<ScoredDocument[]> {
    if (terms.length === 0) return [];
    const { entities, raw } = await withCancellableConnection(this.dataSource, signal, (runner) =>
      this.documents
        .createQueryBuilder('d', runner)
        .addSelect(`ts_rank(d.search_vector, websearch_to_tsquery('english', :query), 1)`, 'score')
        .where('d.tenant_id = :tenantId', { tenantId })
        .andWhere(`d.search_vector @@ websearch_to_tsquery('english', :query)`)
        .setParameters({ query: terms.join(' or ') })
        .orderBy('score', 'DESC')
        .addOrderBy('d.created_at', 'DESC')
        .limit(limit)
        .getRawAndEntities<{ score: number }>(),
    );
    return entities.map((document, index) => ({
      document,
      score: Number(raw[index]?.score ?? 0),
    }));
  }
}

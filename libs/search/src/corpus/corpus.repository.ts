import { UnitOfWork, isProgramLimitExceeded, withCancellableConnection } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
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

/** The corpus in PostgreSQL. Reads and writes join the caller's unit of work when one is open. */
@Injectable()
export class CorpusRepository {
  constructor(
    @InjectRepository(DocumentEntity)
    private readonly documents: Repository<DocumentEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly unitOfWork: UnitOfWork,
  ) {}

  /**
   * Stores the document, or returns the one with the same text already stored for the tenant.
   * The same text is not an error, so that it does not abort a transaction around the insert.
   */
  async insertOrGetExisting(document: DocumentEntity): Promise<{ document: DocumentEntity; created: boolean }> {
    let inserted: unknown[];
    try {
      inserted = await this.unitOfWork.query<unknown[]>(
        `INSERT INTO documents (id, tenant_id, title, url, text, metadata, content_hash, search_title, search_text,
                                created_at)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)
         ON CONFLICT (tenant_id, content_hash) DO NOTHING
         RETURNING id`,
        [
          document.id,
          document.tenantId,
          document.title,
          document.url,
          document.text,
          JSON.stringify(document.metadata),
          document.contentHash,
          document.searchTitle,
          document.searchText,
          document.createdAt,
        ],
      );
    } catch (error) {
      if (isProgramLimitExceeded(error)) throw new DocumentNotIndexableError();
      throw error;
    }
    if (inserted.length > 0) return { document, created: true };
    const existing = await (
      await this.repository()
    ).findOneByOrFail({
      tenantId: document.tenantId,
      contentHash: document.contentHash,
    });
    return { document: existing, created: false };
  }

  async findById(tenantId: string, id: string): Promise<DocumentEntity | null> {
    return (await this.repository()).findOneBy({ tenantId, id });
  }

  async list(tenantId: string, limit: number, after?: { createdAt: Date; id: string }): Promise<DocumentPage> {
    const query = (await this.repository())
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
    const result = await (await this.repository()).delete({ tenantId, id });
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

  private async repository(): Promise<Repository<DocumentEntity>> {
    return (await this.unitOfWork.manager()).getRepository(DocumentEntity);
  }
}

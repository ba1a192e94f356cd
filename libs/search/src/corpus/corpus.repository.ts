import { UnitOfWork, isProgramLimitExceeded, withCancellableConnection } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { IndexedText } from '../text/text-tasks';
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
   * Stores the document with its indexed passages, or returns the one with the same text already
   * stored for the tenant. The same text is not an error, so that it does not abort a transaction
   * around the insert. One statement: a document is never stored without its passages.
   */
  async insertOrGetExisting(
    document: DocumentEntity,
    indexed: IndexedText,
  ): Promise<{ document: DocumentEntity; created: boolean }> {
    let inserted: unknown[];
    try {
      inserted = await this.unitOfWork.query<unknown[]>(
        `WITH document AS (
           INSERT INTO documents (id, tenant_id, title, url, text, metadata, content_hash, created_at)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)
           ON CONFLICT (tenant_id, content_hash) DO NOTHING
           RETURNING id, tenant_id
         ), passages AS (
           INSERT INTO document_passages
             (document_id, seq, tenant_id, start_offset, end_offset, search_title, search_text)
           SELECT document.id, p.seq, document.tenant_id, p.start_offset, p.end_offset, $9, p.search_text
             FROM document, jsonb_to_recordset($10::jsonb) AS p(seq int, start_offset int, end_offset int, search_text text)
         )
         SELECT id FROM document`,
        [
          document.id,
          document.tenantId,
          document.title,
          document.url,
          document.text,
          JSON.stringify(document.metadata),
          document.contentHash,
          document.createdAt,
          indexed.searchTitle,
          JSON.stringify(
            indexed.passages.map((passage, seq) => ({
              seq,
              start_offset: passage.start,
              end_offset: passage.end,
              search_text: passage.searchText,
            })),
          ),
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

  /** The tenant's document with this text, if it has one: found by the unique index on the hash. */
  async findByContentHash(tenantId: string, contentHash: string): Promise<DocumentEntity | null> {
    return (await this.repository()).findOneBy({ tenantId, contentHash });
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

  /** Removes the documents an earlier ingestion made of the file at `path`, but `keepId`; how many. */
  async deleteIngestedVersions(tenantId: string, path: string, keepId: string): Promise<number> {
    const [row] = await this.unitOfWork.query<{ n: number }[]>(
      `WITH deleted AS (
         DELETE FROM documents
          WHERE tenant_id = $1 AND metadata->>'source' = 'ingest' AND metadata->>'path' = $2 AND id <> $3
          RETURNING id
       )
       SELECT count(*)::int AS n FROM deleted`,
      [tenantId, path, keepId],
    );
    return row?.n ?? 0;
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    const result = await (await this.repository()).delete({ tenantId, id });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Full-text search by passage: documents with a passage matching any of the terms, ranked by
   * their best passage (its title counts in every passage), best first. Terms are joined with
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
        .innerJoin(
          (ranked) =>
            ranked
              .select('p.document_id', 'document_id')
              .addSelect(`max(ts_rank(p.search_vector, websearch_to_tsquery('english', :query), 1))`, 'score')
              .from('document_passages', 'p')
              .where('p.tenant_id = :tenantId')
              .andWhere(`p.search_vector @@ websearch_to_tsquery('english', :query)`)
              .groupBy('p.document_id'),
          'best',
          'best.document_id = d.id',
        )
        .addSelect('best.score', 'score')
        .where('d.tenant_id = :tenantId')
        .setParameters({ tenantId, query: terms.join(' or ') })
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

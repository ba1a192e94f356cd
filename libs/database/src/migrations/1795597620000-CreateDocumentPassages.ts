import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The corpus is searched by passage: each document's text is cut into passages of whole
 * sentences (with overlap, computed in Node, where Chinese is segmented into words), and each
 * passage is indexed with the document's title. A document ranks by its best passage, so a fact
 * deep in a long document is found as readily as one at its start, and no document is too large
 * for the full-text index (PostgreSQL caps one tsvector at 1 MB).
 *
 * Documents stored before are indexed as one passage each, from the words they were indexed with;
 * adding them again re-cuts them. The document-level index goes.
 */
export class CreateDocumentPassages1795597620000 implements MigrationInterface {
  name = 'CreateDocumentPassages1795597620000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Offsets are JavaScript string offsets (UTF-16 code units) into documents.text.
    await queryRunner.query(`
      CREATE TABLE document_passages (
        document_id   uuid     NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        seq           integer  NOT NULL,
        tenant_id     uuid     NOT NULL,
        start_offset  integer  NOT NULL,
        end_offset    integer  NOT NULL,
        search_title  text     NOT NULL,
        search_text   text     NOT NULL,
        search_vector tsvector GENERATED ALWAYS AS (
                        setweight(to_tsvector('english'::regconfig, search_title), 'A') ||
                        setweight(to_tsvector('english'::regconfig, search_text), 'D')
                      ) STORED,
        PRIMARY KEY (document_id, seq)
      )`);
    await queryRunner.query(
      `CREATE INDEX document_passages_search_vector_idx ON document_passages USING gin (search_vector)`,
    );
    await queryRunner.query(`CREATE INDEX document_passages_tenant_idx ON document_passages (tenant_id)`);
    await queryRunner.query(`
      INSERT INTO document_passages (document_id, seq, tenant_id, start_offset, end_offset, search_title, search_text)
      SELECT id, 0, tenant_id, 0,
             length(text) + length(regexp_replace(text, '[^\\U00010000-\\U0010FFFF]', '', 'g')),
             search_title, search_text
        FROM documents`);
    await queryRunner.query(`DROP INDEX documents_search_vector_idx`);
    await queryRunner.query(
      `ALTER TABLE documents DROP COLUMN search_vector, DROP COLUMN search_text, DROP COLUMN search_title`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE documents ADD COLUMN search_title text NOT NULL DEFAULT '', ADD COLUMN search_text text NOT NULL DEFAULT ''`);
    await queryRunner.query(`
      UPDATE documents d
         SET search_title = p.search_title, search_text = p.search_text
        FROM (SELECT document_id, min(search_title) AS search_title, string_agg(search_text, ' ' ORDER BY seq) AS search_text
                FROM document_passages GROUP BY document_id) p
       WHERE p.document_id = d.id`);
    await queryRunner.query(`
      ALTER TABLE documents ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, search_title), 'A') ||
        setweight(to_tsvector('english'::regconfig, search_text), 'D')
      ) STORED`);
    await queryRunner.query(`CREATE INDEX documents_search_vector_idx ON documents USING gin (search_vector)`);
    await queryRunner.query(`DROP TABLE document_passages`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateDocuments1795597260000 implements MigrationInterface {
  name = 'CreateDocuments1795597260000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // search_title and search_text hold the text segmented into words in Node (Intl.Segmenter),
    // because PostgreSQL's parser does not split Chinese or Japanese into words. The english
    // configuration stems English words and keeps CJK words as they are.
    await queryRunner.query(`
      CREATE TABLE documents (
        id            uuid        PRIMARY KEY,
        tenant_id     uuid        NOT NULL,
        title         text        NOT NULL,
        url           text,
        text          text        NOT NULL,
        metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb,
        content_hash  text        NOT NULL,
        search_title  text        NOT NULL,
        search_text   text        NOT NULL,
        search_vector tsvector    GENERATED ALWAYS AS (
                        setweight(to_tsvector('english'::regconfig, search_title), 'A') ||
                        setweight(to_tsvector('english'::regconfig, search_text), 'D')
                      ) STORED,
        created_at    timestamptz NOT NULL
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX documents_tenant_content_hash_uq ON documents (tenant_id, content_hash)`,
    );
    await queryRunner.query(
      `CREATE INDEX documents_tenant_created_idx ON documents (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(`CREATE INDEX documents_search_vector_idx ON documents USING gin (search_vector)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE documents`);
  }
}

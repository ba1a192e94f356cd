import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Re-ingesting a folder removes the earlier versions of each file by its path: an index on the
 * path of ingested documents makes that a lookup rather than a scan of the tenant's documents.
 */
export class IndexIngestedPaths1795597860000 implements MigrationInterface {
  name = 'IndexIngestedPaths1795597860000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE INDEX documents_ingested_path ON documents (tenant_id, (metadata->>'path'))
        WHERE metadata->>'source' = 'ingest'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX documents_ingested_path`);
  }
}

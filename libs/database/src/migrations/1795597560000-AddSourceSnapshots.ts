import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A research's sources become full snapshots: which provider found each one, and for a web page
 * where it was read after redirects, with what status and media type. Sources stored before are
 * corpus documents.
 */
export class AddSourceSnapshots1795597560000 implements MigrationInterface {
  name = 'AddSourceSnapshots1795597560000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE research_sources
        ADD COLUMN provider    text NOT NULL DEFAULT 'corpus',
        ADD COLUMN final_url   text,
        ADD COLUMN http_status integer,
        ADD COLUMN media_type  text`);
    await queryRunner.query(`ALTER TABLE research_sources ALTER COLUMN provider DROP DEFAULT`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE research_sources
        DROP COLUMN provider,
        DROP COLUMN final_url,
        DROP COLUMN http_status,
        DROP COLUMN media_type`);
  }
}

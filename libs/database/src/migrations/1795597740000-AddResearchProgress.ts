import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How far a running research has come (stage, counts, percent), stored by the worker with each
 * event it records, so that reading it costs no more than reading the research. Null until the
 * first event of a run; researches stored before read as queued, or done once completed.
 */
export class AddResearchProgress1795597740000 implements MigrationInterface {
  name = 'AddResearchProgress1795597740000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE researches ADD COLUMN progress jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE researches DROP COLUMN progress`);
  }
}

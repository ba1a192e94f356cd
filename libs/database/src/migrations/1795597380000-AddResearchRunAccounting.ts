import { MigrationInterface, QueryRunner } from 'typeorm';

export class AddResearchRunAccounting1795597380000 implements MigrationInterface {
  name = 'AddResearchRunAccounting1795597380000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // free_runs: runs that do not count towards giving up on a research (hand-backs at shutdown or
    // during a dependency outage, and every run before a retry asked for by a user).
    // waited_ms: time spent waiting to run again after it started (handed back, failed before a
    // retry); the time budget does not count it.
    await queryRunner.query(`
      ALTER TABLE researches
        ADD COLUMN free_runs integer NOT NULL DEFAULT 0,
        ADD COLUMN waited_ms bigint  NOT NULL DEFAULT 0`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE researches DROP COLUMN waited_ms, DROP COLUMN free_runs`);
  }
}

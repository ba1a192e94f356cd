import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A source's length in JavaScript string units (UTF-16 code units: a character outside the Basic
 * Multilingual Plane counts two), the unit of the findings' offsets. Computed by PostgreSQL once,
 * when the source is stored, instead of by a regular expression over the whole text on every
 * listing of a research's sources.
 */
export class StoreSourceLength1795597800000 implements MigrationInterface {
  name = 'StoreSourceLength1795597800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE research_sources
        ADD COLUMN text_length integer GENERATED ALWAYS AS
          (length(text) + length(regexp_replace(text, '[^\\U00010000-\\U0010FFFF]', '', 'g'))) STORED`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE research_sources DROP COLUMN text_length`);
  }
}

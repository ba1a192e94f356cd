import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateResearchStepsAndSources1795597320000 implements MigrationInterface {
  name = 'CreateResearchStepsAndSources1795597320000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // One row per completed pipeline step (plan, each source read, draft, verification): a run
    // that dies resumes after its last step instead of paying for it again.
    await queryRunner.query(`
      CREATE TABLE research_steps (
        research_id uuid        NOT NULL REFERENCES researches (id) ON DELETE CASCADE,
        step        text        NOT NULL,
        tenant_id   uuid        NOT NULL,
        data        jsonb       NOT NULL,
        usage       jsonb       NOT NULL DEFAULT '{}'::jsonb,
        attempt     integer     NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (research_id, step)
      )`);
    // Every source a research used, with the exact text it read: quotes are checked against it.
    await queryRunner.query(`
      CREATE TABLE research_sources (
        research_id  uuid        NOT NULL REFERENCES researches (id) ON DELETE CASCADE,
        n            integer     NOT NULL CHECK (n > 0),
        tenant_id    uuid        NOT NULL,
        kind         text        NOT NULL,
        document_id  uuid,
        url          text,
        title        text        NOT NULL,
        content_hash text        NOT NULL,
        text         text        NOT NULL,
        retrieved_at timestamptz NOT NULL,
        PRIMARY KEY (research_id, n)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE research_sources`);
    await queryRunner.query(`DROP TABLE research_steps`);
  }
}

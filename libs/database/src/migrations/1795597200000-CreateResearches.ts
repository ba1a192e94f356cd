import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateResearches1795597200000 implements MigrationInterface {
  name = 'CreateResearches1795597200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE researches (
        id               uuid        PRIMARY KEY,
        tenant_id        uuid        NOT NULL,
        question         text        NOT NULL,
        params           jsonb       NOT NULL,
        status           text        NOT NULL
                         CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
        result           jsonb,
        error            jsonb,
        attempts         integer     NOT NULL DEFAULT 0,
        event_seq        integer     NOT NULL DEFAULT 0,
        request_id       text,
        idempotency_key  text,
        idempotency_hash text,
        lease_expires_at timestamptz,
        created_at       timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL,
        started_at       timestamptz,
        finished_at      timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX researches_tenant_created_idx ON researches (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX researches_tenant_status_created_idx ON researches (tenant_id, status, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX researches_tenant_idempotency_key_uq ON researches (tenant_id, idempotency_key)
       WHERE idempotency_key IS NOT NULL`,
    );
    // The reconciler scans only unfinished researches.
    await queryRunner.query(
      `CREATE INDEX researches_unfinished_idx ON researches (updated_at) WHERE status IN ('pending', 'running')`,
    );

    await queryRunner.query(`
      CREATE TABLE research_events (
        research_id uuid        NOT NULL REFERENCES researches (id) ON DELETE CASCADE,
        seq         integer     NOT NULL,
        tenant_id   uuid        NOT NULL,
        type        text        NOT NULL,
        data        jsonb       NOT NULL DEFAULT '{}'::jsonb,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (research_id, seq)
      )`);
    // Events are a log: once written they never change.
    await queryRunner.query(`
      CREATE FUNCTION research_events_forbid_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'research_events is append-only';
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER research_events_append_only BEFORE UPDATE ON research_events
      FOR EACH ROW EXECUTE FUNCTION research_events_forbid_update()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE research_events`);
    await queryRunner.query(`DROP FUNCTION research_events_forbid_update()`);
    await queryRunner.query(`DROP TABLE researches`);
  }
}

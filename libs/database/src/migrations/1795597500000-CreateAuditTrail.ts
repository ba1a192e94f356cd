import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail: append-only records, hash-chained per tenant. Each record stores the SHA-256
 * of its canonical content and of the previous record's hash (computed by the api), so that an
 * edited, removed or reordered record breaks the chain from there on. A chain head per tenant
 * holds the last sequence number and hash: appends lock it, which serialises them per tenant,
 * and a chain whose tail was removed no longer reaches it.
 *
 * A change's record is first written to the outbox, in the change's own transaction, so that the
 * request never waits for its tenant's chain; the api's audit writer moves outbox records into
 * their chains in batches, a moment later, in transactions that take them from the outbox.
 */
export class CreateAuditTrail1795597500000 implements MigrationInterface {
  name = 'CreateAuditTrail1795597500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // tenant_id is null for callers refused before they were identified (no valid key): they form
    // a chain of their own. No foreign key: the trail outlives whatever it records.
    await queryRunner.query(`
      CREATE TABLE audit_records (
        id            uuid        PRIMARY KEY,
        tenant_id     uuid,
        seq           bigint      NOT NULL,
        occurred_at   timestamptz NOT NULL,
        actor         text        NOT NULL,
        action        text        NOT NULL,
        resource_type text        NOT NULL,
        resource_id   text,
        outcome       text        NOT NULL,
        status_code   smallint    NOT NULL,
        request_id    text,
        client_ip     text,
        user_agent    text,
        occurrences   integer     NOT NULL DEFAULT 1,
        prev_hash     text        NOT NULL,
        hash          text        NOT NULL,
        CONSTRAINT audit_records_outcome_ck CHECK (outcome IN ('success', 'failure', 'denied')),
        CONSTRAINT audit_records_seq_ck CHECK (seq > 0),
        CONSTRAINT audit_records_occurrences_ck CHECK (occurrences > 0),
        CONSTRAINT audit_records_chain_uq UNIQUE NULLS NOT DISTINCT (tenant_id, seq)
      )`);
    await queryRunner.query(
      `CREATE INDEX audit_records_tenant_time_idx ON audit_records (tenant_id, occurred_at DESC, id DESC)`,
    );
    await queryRunner.query(`CREATE INDEX audit_records_time_idx ON audit_records (occurred_at DESC, id DESC)`);
    await queryRunner.query(
      `CREATE INDEX audit_records_resource_idx ON audit_records (tenant_id, resource_id) WHERE resource_id IS NOT NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE audit_chain_heads (
        tenant_id  uuid,
        last_seq   bigint      NOT NULL,
        last_hash  text        NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT audit_chain_heads_tenant_uq UNIQUE NULLS NOT DISTINCT (tenant_id)
      )`);

    // Records of committed changes on their way into their chains. Rows are taken out whole
    // (DELETE ... RETURNING) in the transaction that chains them.
    await queryRunner.query(`
      CREATE TABLE audit_outbox (
        position      bigserial   PRIMARY KEY,
        id            uuid        NOT NULL,
        tenant_id     uuid,
        occurred_at   timestamptz NOT NULL,
        actor         text        NOT NULL,
        action        text        NOT NULL,
        resource_type text        NOT NULL,
        resource_id   text,
        outcome       text        NOT NULL,
        status_code   smallint    NOT NULL,
        request_id    text,
        client_ip     text,
        user_agent    text
      )`);

    // Records never change once written, whoever asks: only a superuser disabling the trigger
    // (or replication mode) gets past it, and the chain shows what was done then.
    await queryRunner.query(`
      CREATE FUNCTION audit_records_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit records are append-only: % is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
      FOR EACH ROW EXECUTE FUNCTION audit_records_refuse_change()`);
    await queryRunner.query(`
      CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
      FOR EACH STATEMENT EXECUTE FUNCTION audit_records_refuse_change()`);

    // A head only moves forward: moving it back would hide a removed tail.
    await queryRunner.query(`
      CREATE FUNCTION audit_chain_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.tenant_id IS NOT DISTINCT FROM OLD.tenant_id AND NEW.last_seq >= OLD.last_seq THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit chain heads only move forward: % is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER audit_chain_heads_forward_only BEFORE UPDATE OR DELETE ON audit_chain_heads
      FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_forward_only()`);
    await queryRunner.query(`
      CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads
      FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_heads_forward_only()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_outbox`);
    await queryRunner.query(`DROP TABLE audit_chain_heads`);
    await queryRunner.query(`DROP TABLE audit_records`);
    await queryRunner.query(`DROP FUNCTION audit_chain_heads_forward_only()`);
    await queryRunner.query(`DROP FUNCTION audit_records_refuse_change()`);
  }
}

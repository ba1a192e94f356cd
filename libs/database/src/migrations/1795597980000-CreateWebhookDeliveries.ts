import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks. Each tenant's signing secret; each delivery of a research's terminal result to its
 * callback URL (stored by the statement that ends the research, so none is lost between the two:
 * an outbox); and every attempt of each delivery, as its log.
 */
export class CreateWebhookDeliveries1795597980000 implements MigrationInterface {
  name = 'CreateWebhookDeliveries1795597980000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_secrets (
        tenant_id  uuid        PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
        secret     text        NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE research_deliveries (
        id              uuid        PRIMARY KEY,
        tenant_id       uuid        NOT NULL,
        research_id     uuid        NOT NULL REFERENCES researches (id) ON DELETE CASCADE,
        event           text        NOT NULL,
        trigger         text        NOT NULL,
        url             text        NOT NULL,
        status          text        NOT NULL DEFAULT 'pending',
        attempts        int         NOT NULL DEFAULT 0,
        created_at      timestamptz NOT NULL DEFAULT now(),
        next_attempt_at timestamptz,
        finished_at     timestamptz,
        CONSTRAINT research_deliveries_status_ck CHECK (status IN ('pending', 'delivered', 'failed')),
        CONSTRAINT research_deliveries_trigger_ck CHECK (trigger IN ('terminal', 'redeliver'))
      )`);
    await queryRunner.query(
      `CREATE INDEX research_deliveries_research_idx ON research_deliveries (tenant_id, research_id, created_at)`,
    );
    await queryRunner.query(
      `CREATE INDEX research_deliveries_pending_idx ON research_deliveries (next_attempt_at) WHERE status = 'pending'`,
    );
    await queryRunner.query(`
      CREATE TABLE research_delivery_attempts (
        delivery_id  uuid        NOT NULL REFERENCES research_deliveries (id) ON DELETE CASCADE,
        n            int         NOT NULL,
        tenant_id    uuid        NOT NULL,
        attempted_at timestamptz NOT NULL,
        outcome      text        NOT NULL,
        status_code  int,
        duration_ms  int         NOT NULL,
        error        text,
        PRIMARY KEY (delivery_id, n)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE research_delivery_attempts`);
    await queryRunner.query(`DROP TABLE research_deliveries`);
    await queryRunner.query(`DROP TABLE webhook_secrets`);
  }
}

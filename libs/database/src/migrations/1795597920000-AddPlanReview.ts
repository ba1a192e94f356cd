import { MigrationInterface, QueryRunner } from 'typeorm';

const STATUSES_BEFORE = `'pending', 'running', 'completed', 'failed', 'cancelled'`;

/**
 * A research asked with `review_plan` waits after planning in `awaiting_review` for its caller.
 * The partial index serves what looks at those researches across tenants: the reconciler's scan
 * for reviews that waited too long (by `updated_at`, when the research began to wait) and the
 * `research_awaiting_review` gauge.
 */
export class AddPlanReview1795597920000 implements MigrationInterface {
  name = 'AddPlanReview1795597920000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE researches
        DROP CONSTRAINT researches_status_check,
        ADD CONSTRAINT researches_status_check CHECK (status IN (${STATUSES_BEFORE}, 'awaiting_review'))`);
    await queryRunner.query(
      `CREATE INDEX researches_awaiting_review_idx ON researches (updated_at) WHERE status = 'awaiting_review'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The code before this migration cannot resume a research waiting for its review: it is
    // cancelled with the reason, and its event, rather than left in a status nothing handles.
    await queryRunner.query(`
      WITH cancelled AS (
        UPDATE researches
           SET status = 'cancelled', finished_at = now(), updated_at = now(), event_seq = event_seq + 1,
               error = '{"code": "research_cancelled", "message": "cancelled while awaiting its plan review: plan review was removed from the service"}'::jsonb
         WHERE status = 'awaiting_review'
        RETURNING id, tenant_id, event_seq, error
      )
      INSERT INTO research_events (research_id, seq, tenant_id, type, data)
      SELECT id, event_seq, tenant_id, 'research.cancelled', error FROM cancelled`);
    await queryRunner.query(`DROP INDEX researches_awaiting_review_idx`);
    await queryRunner.query(`
      ALTER TABLE researches
        DROP CONSTRAINT researches_status_check,
        ADD CONSTRAINT researches_status_check CHECK (status IN (${STATUSES_BEFORE}))`);
  }
}

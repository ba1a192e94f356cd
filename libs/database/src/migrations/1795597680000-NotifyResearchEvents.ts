import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every research event, once committed, is announced on the `research_events` channel with its
 * research id and sequence number, so that api processes streaming a research's events learn of
 * new ones from PostgreSQL itself, whichever process wrote them, with no polling.
 */
export class NotifyResearchEvents1795597680000 implements MigrationInterface {
  name = 'NotifyResearchEvents1795597680000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION notify_research_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('research_events', NEW.research_id::text || ':' || NEW.seq::text);
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER research_events_notify AFTER INSERT ON research_events
        FOR EACH ROW EXECUTE FUNCTION notify_research_event()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER research_events_notify ON research_events`);
    await queryRunner.query(`DROP FUNCTION notify_research_event()`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/** The tenant every request belonged to before keys; anonymous calls still act as it in development. */
const DEFAULT_TENANT_ID = '00000000-0000-0000-0000-000000000001';

export class CreateTenantsAndApiKeys1795597440000 implements MigrationInterface {
  name = 'CreateTenantsAndApiKeys1795597440000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE tenants (
        id         uuid        PRIMARY KEY,
        name       text        NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT tenants_name_uq UNIQUE (name)
      )`);
    await queryRunner.query(`INSERT INTO tenants (id, name) VALUES ($1, 'default')`, [DEFAULT_TENANT_ID]);
    // A key is stored only as the SHA-256 of its text (it carries 256 bits of entropy, so a fast
    // hash is enough) and a short visible prefix to tell keys apart in lists and logs.
    await queryRunner.query(`
      CREATE TABLE api_keys (
        id           uuid        PRIMARY KEY,
        tenant_id    uuid        NOT NULL REFERENCES tenants (id),
        name         text        NOT NULL,
        prefix       text        NOT NULL,
        key_hash     text        NOT NULL,
        scopes       text[]      NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz,
        revoked_at   timestamptz,
        last_used_at timestamptz,
        CONSTRAINT api_keys_key_hash_uq UNIQUE (key_hash)
      )`);
    await queryRunner.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE api_keys`);
    await queryRunner.query(`DROP TABLE tenants`);
  }
}

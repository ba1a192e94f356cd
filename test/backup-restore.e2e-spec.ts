import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { TestStack, runToCompletion } from '@app/testing';

/**
 * The backup scripts of scripts/backup against the local PostgreSQL, as an operator runs them:
 * a database of its own with real rows (API keys of two tenants, the example corpus, documents,
 * a research and their audit records, written by the real CLI and api), dumped by pg-backup.sh,
 * restored into a new database by pg-restore.sh and checked by pg-verify.sh; then one audit
 * record of the copy is edited behind the trigger's back, and the verification fails.
 */
const clients = ['pg_dump', 'pg_restore', 'psql'].filter((tool) => spawnSync(tool, ['--version']).error);
if (clients.length > 0) {
  process.stderr.write(
    `${clients.join(', ')} not installed: the backup suite is skipped (Debian: apt-get install postgresql-client-15)\n`,
  );
}

(clients.length > 0 ? describe.skip : describe)('backup, restore and verify (scripts/backup)', () => {
  let stack: TestStack;
  let backupDir: string;
  const restoredName = () => `${stack.database.name}_restored`;
  const restoredUrl = () => stack.database.url.replace(/\/[^/]+$/, `/${restoredName()}`);

  const sh = (script: string, args: string[], env: Record<string, string> = {}) =>
    runToCompletion('sh', [`scripts/backup/${script}`, ...args], env);

  async function onRestored<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: restoredUrl() });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  async function createKey(tenant: string, scopes: string): Promise<string> {
    const created = await stack.cli(['keys', 'create', '--tenant', tenant, '--scopes', scopes]);
    expect(created.code).toBe(0);
    return created.stdout.trim().split('\n').at(-1)!;
  }

  beforeAll(async () => {
    backupDir = mkdtempSync(join(tmpdir(), 'research-backups-'));
    stack = await TestStack.create({ label: 'backup', env: { AUTH_REQUIRED: 'true' } });
    const acme = await createKey('acme', 'research:read,research:write,documents:read,documents:write,audit:read');
    const globex = await createKey('globex', 'documents:read,documents:write');
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    expect((await stack.cli(['tenants', 'webhook-secret', '--tenant', 'acme'])).code).toBe(0);

    // Audit records come from the api: writes, reads and a refusal, in two tenants' chains.
    await stack.startApi();
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    for (const [key, title] of [
      [acme, 'HBM supply in 2024'],
      [globex, 'Lithium prices in 2024'],
    ]) {
      const added = await stack.http.post(
        '/api/v1/documents',
        { title, text: `${title}: supply tightened during the year, and prices moved with it.` },
        as(key),
      );
      expect(added.status).toBe(201);
      expect((await stack.http.get('/api/v1/documents', as(key))).status).toBe(200);
    }
    const submitted = await stack.http.post('/api/v1/research', { question: 'Who led HBM supply in 2024?' }, as(acme));
    expect(submitted.status).toBe(202);
    expect((await stack.http.get(`/api/v1/research/${submitted.body.research_id}`, as(acme))).status).toBe(200);
    expect((await stack.http.get('/api/v1/research', as(globex))).status).toBe(403);
    expect((await stack.http.get('/api/v1/audit', as(acme))).status).toBe(200);
    // Stopping the api writes what its audit writer still holds: the database is at rest after.
    await stack.api!.stop();
    const [{ count }] = await stack.database.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM audit_records',
    );
    expect(count).toBeGreaterThanOrEqual(8);
  });

  afterAll(async () => {
    const admin = new Client({ connectionString: stack.database.url.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${restoredName()}" WITH (FORCE)`);
    await admin.end();
    await stack?.teardown();
    rmSync(backupDir, { recursive: true, force: true });
  });

  let dump: string;

  it('pg-backup.sh writes <database>-<UTC timestamp>.dump into BACKUP_DIR, its path on the last line, and deletes dumps older than BACKUP_KEEP_DAYS', async () => {
    const old = join(backupDir, `${stack.database.name}-20200101T000000Z.dump`);
    const otherDatabase = join(backupDir, 'another-20200101T000000Z.dump');
    for (const file of [old, otherDatabase]) {
      writeFileSync(file, 'an old dump');
      const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
      utimesSync(file, tenDaysAgo, tenDaysAgo);
    }

    const backup = await sh('pg-backup.sh', [], {
      DATABASE_URL: stack.database.url,
      BACKUP_DIR: backupDir,
      BACKUP_KEEP_DAYS: '7',
    });
    expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    dump = backup.stdout.trim().split('\n').at(-1)!;
    expect(dump).toMatch(new RegExp(`^${backupDir}/${stack.database.name}-\\d{8}T\\d{6}Z\\.dump$`));
    expect(existsSync(dump)).toBe(true);
    // Only this database's old dumps go; no partial file is left.
    expect(readdirSync(backupDir).sort()).toEqual([dump.split('/').at(-1), 'another-20200101T000000Z.dump'].sort());
    expect(backup.stderr).toContain(`deleted ${old}`);
  });

  it('pg-backup.sh refuses to run without DATABASE_URL', async () => {
    const backup = await sh('pg-backup.sh', [], { BACKUP_DIR: backupDir });
    expect(backup.code).toBe(1);
    expect(backup.stderr).toContain('DATABASE_URL is required');
  });

  it('pg-restore.sh restores the dump into a database it creates, and refuses one that exists', async () => {
    const restore = await sh('pg-restore.sh', [dump, restoredUrl()]);
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(restore.stdout.trim().split('\n').at(-1)).toBe(`restored ${dump} into ${restoredName()}`);

    const again = await sh('pg-restore.sh', [dump, restoredUrl()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`database ${restoredName()} exists already`);
  });

  it('pg-verify.sh passes: every migration applied, the same rows in every table, the audit chains intact', async () => {
    const verify = await sh('pg-verify.sh', [restoredUrl(), stack.database.url]);
    expect({ code: verify.code, stdout: verify.stdout }).toEqual({
      code: 0,
      stdout: expect.stringContaining('verify: passed'),
    });
    const lines = verify.stdout.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('FAILED'))).toEqual([]);
    expect(verify.stdout).toMatch(/ok {6}migrations: every migration of this build applied/);
    expect(verify.stdout).toMatch(/ok {6}migrations: the same latest migration as the source/);
    expect(verify.stdout).toMatch(/ok {6}rows: \d+ tables, \d+ rows, each table as many as in the source/);
    const verdict = JSON.parse(/ok {6}audit chains: (.*)$/m.exec(verify.stdout)![1]) as {
      valid: boolean;
      checked: number;
    };
    expect(verdict.valid).toBe(true);
    expect(verdict.checked).toBeGreaterThanOrEqual(8);
  });

  it('pg-verify.sh fails when one audit record of the copy was edited, and names it', async () => {
    const tampered = await onRestored(async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `SELECT id FROM audit_records WHERE tenant_id IS NOT NULL ORDER BY tenant_id, seq LIMIT 1 OFFSET 1`,
      );
      // The append-only trigger refuses edits: an attacker with the table's owner goes around it.
      await client.query('ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only');
      await client.query(`UPDATE audit_records SET actor = 'key:00000000-0000-0000-0000-000000000000' WHERE id = $1`, [
        rows[0].id,
      ]);
      await client.query('ALTER TABLE audit_records ENABLE TRIGGER audit_records_append_only');
      return rows[0].id;
    });

    const verify = await sh('pg-verify.sh', [restoredUrl(), stack.database.url]);
    expect(verify.code).toBe(1);
    // Same rows, same migrations: only the chain gives the edit away.
    expect(verify.stdout).toMatch(/ok {6}rows: /);
    const failed = verify.stdout.split('\n').filter((line) => line.startsWith('FAILED'));
    expect(failed).toEqual([expect.stringMatching(/^FAILED {2}audit chains: \{/)]);
    const verdict = JSON.parse(failed[0].replace(/^FAILED {2}audit chains: /, '')) as {
      valid: boolean;
      first_broken_id: string;
    };
    expect(verdict).toMatchObject({ valid: false, first_broken_id: tampered });
    expect(verify.stdout.trim().split('\n').at(-1)).toBe('verify: 1 check(s) failed');
  });

  it('pg-verify.sh names the tables whose rows differ from the source', async () => {
    await onRestored((client) => client.query(`DELETE FROM documents WHERE title = 'HBM supply in 2024'`));
    const verify = await sh('pg-verify.sh', [restoredUrl(), stack.database.url]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain('FAILED  rows differ from the source');
    expect(verify.stdout).toMatch(/^ {10}documents (\d+) (\d+)$/m);
    const [, source, restored] = /^ {10}documents (\d+) (\d+)$/m.exec(verify.stdout)!;
    expect(Number(source) - Number(restored)).toBe(1);
  });
});

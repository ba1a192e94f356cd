// How long the backup scripts take on a database of a stated size: scripts/backup/pg-backup.sh
// (pg_dump, custom format), pg-restore.sh (into a new database) and pg-verify.sh (migrations,
// row counts against the source, the audit chains), each timed as an operator runs it.
//
//   npm run build && node bench/backup-restore.mjs [researches] [corpus copies] [audit records]
//
// The database: the example corpus ingested by the CLI and copied `corpus copies` times (documents
// with their passages and search vectors); `researches` completed researches of four tenants,
// each with a 6.6 KB report, 5 sources of 4 KB and 8 events; `audit records` appended by the
// audit repository in hash chains of four tenants. Texts are hex digests, which compress about
// as well as prose. Needs PostgreSQL on localhost; creates and drops research_bench_backup and
// research_bench_backup_restored, and dumps into a temporary directory it removes.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { admin, server } from './postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { DataSource } = require('typeorm');
const { UnitOfWork } = require(join(root, 'dist/libs/database/src/unit-of-work.js'));
const { AuditRepository } = require(join(root, 'dist/libs/audit/src/persistence/audit.repository.js'));

const researches = Number(process.argv[2] ?? 10_000);
const corpusCopies = Number(process.argv[3] ?? 100);
const auditRecords = Number(process.argv[4] ?? 200_000);
const source = 'research_bench_backup';
const restored = `${source}_restored`;
const sourceUrl = `${server}/${source}`;
const restoredUrl = `${server}/${restored}`;
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  DATABASE_URL: sourceUrl,
  ...(process.env.RESTORE_JOBS ? { RESTORE_JOBS: process.env.RESTORE_JOBS } : {}),
};

function cli(...args) {
  const result = spawnSync(process.execPath, [join(root, 'dist/apps/cli/src/main.js'), ...args], {
    env,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`cli ${args.join(' ')}: ${result.stderr}`);
}

/** Runs one of the backup scripts as an operator would, and times it. */
function timed(script, args, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', [join(root, 'scripts/backup', script), ...args], {
      cwd: root,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`${script} exited ${code}: ${stdout}${stderr}`));
      else resolve({ ms, stdout });
    });
  });
}

await admin(`DROP DATABASE IF EXISTS ${restored} WITH (FORCE)`);
await admin(`DROP DATABASE IF EXISTS ${source} WITH (FORCE)`);
await admin(`CREATE DATABASE ${source}`);
cli('migrate');
cli('ingest', 'examples/corpus');

const dataSource = new DataSource({ type: 'postgres', url: sourceUrl, extra: { max: 2 } });
await dataSource.initialize();
const seedStarted = performance.now();
const tenants = [];
for (let i = 1; i <= 4; i += 1) {
  const [{ id }] = await dataSource.query(`INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id`, [
    randomUUID(),
    `bench-tenant-${i}`,
  ]);
  tenants.push(id);
}

// The corpus, copied: each copy a document of its own (another content hash) with the passages.
await dataSource.query(`CREATE TEMP TABLE copies AS
  SELECT d.id AS old_id, gen_random_uuid() AS new_id, g FROM documents d, generate_series(1, ${corpusCopies}) g`);
await dataSource.query(`INSERT INTO documents (id, tenant_id, title, url, text, metadata, content_hash, created_at)
  SELECT c.new_id, d.tenant_id, d.title || ' (copy ' || c.g || ')', d.url, d.text, '{}', md5(d.content_hash || c.g), d.created_at
    FROM copies c JOIN documents d ON d.id = c.old_id`);
await dataSource.query(`INSERT INTO document_passages
    (document_id, seq, tenant_id, start_offset, end_offset, search_title, search_text)
  SELECT c.new_id, p.seq, p.tenant_id, p.start_offset, p.end_offset, p.search_title || ' (copy ' || c.g || ')', p.search_text
    FROM copies c JOIN document_passages p ON p.document_id = c.old_id`);

// Completed researches with their report, sources and events, in batches of 1000.
await dataSource.query('ALTER TABLE research_events DISABLE TRIGGER research_events_notify');
for (let from = 1; from <= researches; from += 1000) {
  const to = Math.min(researches, from + 999);
  await dataSource.query(
    `WITH made AS (
       INSERT INTO researches (id, tenant_id, question, params, status, result, attempts, event_seq,
                               created_at, updated_at, started_at, finished_at)
       SELECT gen_random_uuid(), ($3::uuid[])[1 + g % 4], 'Question ' || g || ' ' || md5(g::text),
              '{"max_sources": 5, "verify": true, "language": "en"}', 'completed',
              jsonb_build_object('report', (SELECT string_agg(md5(g || '-' || i), ' ') FROM generate_series(1, 200) i)),
              1, 8, now(), now(), now(), now()
         FROM generate_series($1::int, $2::int) g
       RETURNING id, tenant_id
     ), sources AS (
       INSERT INTO research_sources (research_id, n, tenant_id, kind, title, content_hash, text, retrieved_at, provider)
       SELECT m.id, n, m.tenant_id, 'document', 'Source ' || n, md5(m.id::text || n),
              (SELECT string_agg(md5(m.id::text || n || '-' || i), ' ') FROM generate_series(1, 120) i), now(), 'corpus'
         FROM made m, generate_series(1, 5) n
     )
     INSERT INTO research_events (research_id, seq, tenant_id, type, data)
     SELECT m.id, s, m.tenant_id, 'stage.finished', jsonb_build_object('stage', 'step ' || s, 'calls', s)
       FROM made m, generate_series(1, 8) s`,
    [from, to, tenants],
  );
}
await dataSource.query('ALTER TABLE research_events ENABLE TRIGGER research_events_notify');

// Audit records through the repository the api writes with: real hash chains.
const audit = new AuditRepository(new UnitOfWork(dataSource));
for (let done = 0; done < auditRecords; done += 500) {
  await audit.append(
    Array.from({ length: Math.min(500, auditRecords - done) }, (_, i) => ({
      id: randomUUID(),
      tenantId: tenants[(done + i) % 4],
      occurredAt: new Date(),
      actor: 'key:4b0f7c1e-8d1a-4c55-9a4e-2f1f3c2b9d10',
      action: 'research.read',
      resourceType: 'research',
      resourceId: randomUUID(),
      outcome: 'success',
      statusCode: 200,
      requestId: randomUUID(),
      clientIp: '127.0.0.1',
      userAgent: 'bench/backup-restore',
      occurrences: 1,
    })),
  );
}
await dataSource.query('VACUUM ANALYZE');
const seedSeconds = (performance.now() - seedStarted) / 1000;
const [{ size, version }] = await dataSource.query(
  `SELECT pg_database_size(current_database())::bigint AS size, current_setting('server_version') AS version`,
);
const counts = await dataSource.query(`SELECT
  (SELECT count(*) FROM documents)::int AS documents, (SELECT count(*) FROM document_passages)::int AS passages,
  (SELECT count(*) FROM researches)::int AS researches, (SELECT count(*) FROM research_sources)::int AS sources,
  (SELECT count(*) FROM research_events)::int AS events, (SELECT count(*) FROM audit_records)::int AS audit`);
await dataSource.destroy();

const backupDir = mkdtempSync(join(tmpdir(), 'research-bench-backups-'));
const mb = (bytes) => `${(Number(bytes) / 1024 / 1024).toFixed(0)} MB`;
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
try {
  const backup = await timed('pg-backup.sh', [], { BACKUP_DIR: backupDir });
  const dump = backup.stdout.trim().split('\n').at(-1);
  const restore = await timed('pg-restore.sh', [dump, restoredUrl]);
  const verify = await timed('pg-verify.sh', [restoredUrl, sourceUrl]);
  const pgDump = spawnSync('pg_dump', ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0].model}), ${mb(totalmem())} memory; PostgreSQL ${version}; ${pgDump}`,
  );
  console.log(`database: ${mb(size)} on disk (seeded in ${seedSeconds.toFixed(0)} s): ${JSON.stringify(counts[0])}`);
  console.log(`pg-backup.sh   ${s(backup.ms).padStart(8)}   dump ${mb(statSync(dump).size)}`);
  console.log(`pg-restore.sh  ${s(restore.ms).padStart(8)}   (RESTORE_JOBS ${process.env.RESTORE_JOBS ?? 2})`);
  console.log(`pg-verify.sh   ${s(verify.ms).padStart(8)}`);
  console.log(verify.stdout.trim());
} finally {
  rmSync(backupDir, { recursive: true, force: true });
  await admin(`DROP DATABASE IF EXISTS ${restored} WITH (FORCE)`);
  await admin(`DROP DATABASE IF EXISTS ${source} WITH (FORCE)`);
}

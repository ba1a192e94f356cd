// What appending audit records costs, per record, in this process (building the chain, hashing,
// encoding the statement) and in PostgreSQL (the insert into audit_records and its indexes, the
// chain head update, WAL): AuditRepository.append in batches, as the batched writer calls it for
// reads.
//
//   npm run build && node bench/audit-append.mjs [records per round] [batch size] [rounds]
//
// BENCH_OTHER_BUILD=<directory of another revision's build> (bench/build-revision.mjs) appends
// with that revision's repository too, into its own tenant's chain, alternating with this one's
// in each round: two revisions compared in the same run.
// Needs PostgreSQL on localhost; creates and drops the database research_bench_audit. The tables
// start with `records per round` records already in them, so that the indexes are not tiny.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, databaseCpu, databaseCpuBetween } from './cpu.mjs';
import { admin, server } from './postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { DataSource } = require('typeorm');
const { UnitOfWork } = require(join(root, 'dist/libs/database/src/unit-of-work.js'));
const { MIGRATIONS } = require(join(root, 'dist/libs/database/src/migrations/index.js'));
const repositoryOf = (build) => require(join(build, 'dist/libs/audit/src/persistence/audit.repository.js'));
const builds = { current: root };
if (process.env.BENCH_OTHER_BUILD) builds['other build'] = process.env.BENCH_OTHER_BUILD;

const count = Number(process.argv[2] ?? 20000);
const batchSize = Number(process.argv[3] ?? 500);
const rounds = Number(process.argv[4] ?? 3);

await admin('DROP DATABASE IF EXISTS research_bench_audit WITH (FORCE)');
await admin('CREATE DATABASE research_bench_audit');
const dataSource = new DataSource({
  type: 'postgres',
  url: `${server}/research_bench_audit`,
  migrations: MIGRATIONS,
  extra: { max: 2 },
});
await dataSource.initialize();
await dataSource.runMigrations();
const unitOfWork = new UnitOfWork(dataSource);
/** Each build appends to a chain of its own, one tenant's. */
const appenders = {};
for (const [name, build] of Object.entries(builds)) {
  const [{ id }] = await dataSource.query(`INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id`, [
    randomUUID(),
    `bench-${name}`,
  ]);
  appenders[name] = { repository: new (repositoryOf(build).AuditRepository)(unitOfWork), tenantId: id };
}

/** A read of one research, as the audit interceptor records it. */
const entry = (tenantId) => ({
  id: randomUUID(),
  tenantId,
  occurredAt: new Date(),
  actor: 'key:4b0f7c1e-8d1a-4c55-9a4e-2f1f3c2b9d10',
  action: 'research.read',
  resourceType: 'research',
  resourceId: randomUUID(),
  outcome: 'success',
  statusCode: 200,
  requestId: randomUUID(),
  clientIp: '127.0.0.1',
  userAgent: 'bench/audit-append',
  occurrences: 1,
});

async function append({ repository, tenantId }, records) {
  for (let done = 0; done < records; done += batchSize) {
    await repository.append(Array.from({ length: Math.min(batchSize, records - done) }, () => entry(tenantId)));
  }
}

for (const appender of Object.values(appenders)) await append(appender, count / 2);
await dataSource.query('CHECKPOINT');
for (let round = 1; round <= rounds; round += 1) {
  const order = round % 2 === 1 ? Object.entries(appenders) : Object.entries(appenders).reverse();
  for (const [name, appender] of order) {
    const own = cpuSeconds(process.pid);
    const database = databaseCpu();
    const started = performance.now();
    await append(appender, count);
    const wall = performance.now() - started;
    const perRecord = (seconds) => ((seconds * 1e6) / count).toFixed(1).padStart(6);
    console.log(
      `round ${round}: ${name.padEnd(12)} this process ${perRecord(cpuSeconds(process.pid) - own)} µs   ` +
        `PostgreSQL ${perRecord(databaseCpuBetween(database, databaseCpu()))} µs a record   ` +
        `${((count * 1000) / wall).toFixed(0)} records/s`,
    );
  }
}
await dataSource.destroy();
await admin('DROP DATABASE research_bench_audit WITH (FORCE)');

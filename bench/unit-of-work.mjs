// CPU per transaction of two inserts, three ways, on one pg pool: TypeORM's query runner
// (startTransaction, query, commitTransaction, release), the UnitOfWork of libs/database, and a
// bare pg client (BEGIN, the inserts, COMMIT). 16 transactions at a time, alternating rounds.
//
//   npm run build && node bench/unit-of-work.mjs [transactions per round] [rounds]
//
// Needs PostgreSQL on localhost; creates and drops the database research_bench_uow.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { admin, server } from './postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { DataSource } = require('typeorm');
const { UnitOfWork } = require(join(root, 'dist/libs/database/src/unit-of-work.js'));

const count = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 4);

await admin('DROP DATABASE IF EXISTS research_bench_uow WITH (FORCE)');
await admin('CREATE DATABASE research_bench_uow');
const dataSource = new DataSource({ type: 'postgres', url: `${server}/research_bench_uow`, extra: { max: 10 } });
await dataSource.initialize();
await dataSource.query('CREATE TABLE a (id uuid PRIMARY KEY, label text)');
await dataSource.query('CREATE TABLE b (id uuid PRIMARY KEY, label text)');
const unitOfWork = new UnitOfWork(dataSource);
const pool = dataSource.driver.master;
const INSERT_A = 'INSERT INTO a VALUES ($1, $2)';
const INSERT_B = 'INSERT INTO b VALUES ($1, $2)';

const ways = {
  'TypeORM query runner': async () => {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      await runner.query(INSERT_A, [randomUUID(), 'a']);
      await runner.query(INSERT_B, [randomUUID(), 'b']);
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
  },
  UnitOfWork: () =>
    unitOfWork.run(async () => {
      await unitOfWork.query(INSERT_A, [randomUUID(), 'a']);
      await unitOfWork.query(INSERT_B, [randomUUID(), 'b']);
    }),
  'bare pg client': async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(INSERT_A, [randomUUID(), 'a']);
      await client.query(INSERT_B, [randomUUID(), 'b']);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  },
};

for (let round = 0; round <= rounds; round += 1) {
  for (const [name, transaction] of Object.entries(ways)) {
    let left = count;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (left-- > 0) await transaction();
      }),
    );
    const used = process.cpuUsage(cpu);
    // Round 0 warms up.
    if (round === 0) continue;
    console.log(
      `round ${round}: ${name.padEnd(22)} ${(((used.user + used.system) / count) | 0).toString().padStart(5)} µs CPU a transaction` +
        `   ${Math.round(count / ((performance.now() - started) / 1000))} transactions/s`,
    );
  }
}
await dataSource.destroy();
await admin('DROP DATABASE IF EXISTS research_bench_uow WITH (FORCE)');

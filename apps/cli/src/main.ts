import 'reflect-metadata';
import { resolve } from 'node:path';
import { DEFAULT_TENANT_ID } from '@app/common';
import { ConfigError, appConfig } from '@app/config';
import { databaseOptions, ensureDatabase } from '@app/database';
import { CorpusService } from '@app/search';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { CliModule } from './cli.module';

const USAGE = `Usage: node dist/apps/cli/src/main.js <command>

Commands:
  db:create                 create the database named in DATABASE_URL if it does not exist
  migrate                   apply pending migrations
  migrate:revert            revert the last migration
  migrate:show              list migrations and whether they are applied
  ingest <folder> [--tenant <uuid>]
                            add every .md, .markdown and .txt file under <folder> to the corpus
`;

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function withDataSource<T>(work: (dataSource: DataSource) => Promise<T>): Promise<T> {
  const dataSource = new DataSource(databaseOptions(appConfig()));
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

async function ingest(args: string[]): Promise<void> {
  const folder = args[0];
  if (!folder) throw new UsageError('ingest needs a folder');
  const tenantFlag = args.indexOf('--tenant');
  const tenantId = tenantFlag === -1 ? DEFAULT_TENANT_ID : args[tenantFlag + 1];
  if (!tenantId || !/^[0-9a-f-]{36}$/i.test(tenantId)) throw new UsageError('--tenant needs a UUID');
  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'] });
  try {
    const report = await app.get(CorpusService).ingestFolder(tenantId, resolve(folder));
    print(
      `files: ${report.files}, added: ${report.created}, already present: ${report.duplicates}, skipped: ${report.skipped.length}`,
    );
    for (const skipped of report.skipped) print(`  skipped ${skipped.path}: ${skipped.reason}`);
  } finally {
    await app.close();
  }
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case 'db:create': {
      const created = await ensureDatabase(appConfig().databaseUrl);
      print(created ? 'database created' : 'database already exists');
      return;
    }
    case 'migrate':
      await withDataSource(async (dataSource) => {
        const applied = await dataSource.runMigrations({ transaction: 'each' });
        print(applied.length === 0 ? 'no pending migrations' : applied.map((m) => `applied ${m.name}`).join('\n'));
      });
      return;
    case 'migrate:revert':
      await withDataSource((dataSource) => dataSource.undoLastMigration({ transaction: 'each' }));
      print('reverted the last migration');
      return;
    case 'migrate:show':
      await withDataSource(async (dataSource) => {
        const executed = new Set(
          (await dataSource.query(`SELECT name FROM migrations`).catch(() => [])).map(
            (row: { name: string }) => row.name,
          ),
        );
        for (const migration of dataSource.migrations) {
          print(`${executed.has(migration.name ?? '') ? '[X]' : '[ ]'} ${migration.name}`);
        }
      });
      return;
    case 'ingest':
      await ingest(args);
      return;
    default:
      throw new UsageError(command ? `unknown command: ${command}` : 'no command given');
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}`);
  else if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});

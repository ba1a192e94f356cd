import 'reflect-metadata';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { DEFAULT_TENANT_ID, DomainError, ValidationError } from '@app/common';
import { ConfigError, appConfig } from '@app/config';
import { databaseOptions, ensureDatabase } from '@app/database';
import { AuditRecordDto, AuditService, AuditVerificationResponseDto } from '@app/audit';
import { ApiKeyService } from '@app/auth';
import { WebhookSecretRepository } from '@app/research';
import { CorpusService } from '@app/search';
import { NestFactory } from '@nestjs/core';
import { Presets, SingleBar } from 'cli-progress';
import { DataSource } from 'typeorm';
import { CliModule } from './cli.module';

const USAGE = `Usage: node dist/apps/cli/src/main.js <command>

Commands:
  db:create                 create the database named in DATABASE_URL if it does not exist
  migrate                   apply pending migrations
  migrate:revert            revert the last migration
  migrate:show              list migrations and whether they are applied
  ingest <folder> [--tenant <uuid>]
                            add every .md, .markdown, .txt, .html, .htm and .pdf file under <folder> to
                            the corpus (creating and migrating the database first); a changed
                            file replaces its document, an unchanged one is left alone
  keys create --tenant <name> --scopes <scope,...> [--name <text>] [--expires-in <n>d|h|m]
                            create an API key; the key is printed on the last line, this once
                            (scopes: research:read, research:write, documents:read,
                            documents:write, audit:read, admin)
  keys list [--tenant <name>]
                            list API keys, without the keys themselves
  keys revoke <key-id>      revoke an API key
  tenants webhook-secret --tenant <name> [--rotate]
                            print the tenant's webhook signing secret on the last line (made on
                            first use); --rotate replaces it first
  audit verify [--tenant <name>]
                            walk the audit hash chains (one tenant's, or every chain) and print
                            the verdict as JSON; exits 1 when a chain is broken
  audit export [--tenant <name>] [--from <ISO time>] [--to <ISO time>]
                            print audit records as JSON lines, chain by chain in sequence order,
                            for archiving (from inclusive, to exclusive)
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

/** Creates the database if needed and applies pending migrations; says so only when it did something. */
async function prepareDatabase(): Promise<void> {
  if (await ensureDatabase(appConfig().databaseUrl)) print('database created');
  const applied = await withDataSource((dataSource) => dataSource.runMigrations({ transaction: 'each' }));
  if (applied.length > 0) print(`applied ${applied.length} migration${applied.length === 1 ? '' : 's'}`);
}

/**
 * Ingests a folder, on a fresh machine too: the database is created and migrated first. A
 * terminal shows a progress bar; otherwise only the summary is printed. Each skipped file is one
 * line naming it, and makes the exit status 1.
 */
async function ingest(args: string[]): Promise<void> {
  const folder = args[0];
  if (!folder || folder.startsWith('--')) throw new UsageError('ingest needs a folder');
  const tenantFlag = args.indexOf('--tenant');
  const tenantId = tenantFlag === -1 ? DEFAULT_TENANT_ID : args[tenantFlag + 1];
  if (!tenantId || !/^[0-9a-f-]{36}$/i.test(tenantId)) throw new UsageError('--tenant needs a UUID');
  await prepareDatabase();
  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'] });
  const bar = process.stdout.isTTY
    ? new SingleBar(
        { format: 'ingesting {bar} {value}/{total} {file}', hideCursor: true, clearOnComplete: true },
        Presets.shades_classic,
      )
    : null;
  try {
    const report = await app.get(CorpusService).ingestFolder(tenantId, resolve(folder), (file) => {
      if (!bar) return;
      if (file.done === 1) bar.start(file.total, 0, { file: '' });
      bar.update(file.done, { file: file.path });
    });
    bar?.stop();
    print(
      `files: ${report.files}, added: ${report.created}, updated: ${report.updated}, ` +
        `unchanged: ${report.unchanged}, skipped: ${report.skipped.length}`,
    );
    for (const skipped of report.skipped) print(`  skipped ${skipped.path}: ${skipped.reason}`);
    if (report.skipped.length > 0) process.exitCode = 1;
  } finally {
    bar?.stop();
    await app.close();
  }
}

/** The value after `--name`, or undefined; a flag without a value is a usage error. */
function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return value;
}

function expiryOf(value: string | undefined): Date | null {
  if (value === undefined) return null;
  const match = /^(\d{1,6})([dhm])$/.exec(value);
  if (!match) throw new UsageError('--expires-in takes a number and d, h or m, e.g. 90d');
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as 'd' | 'h' | 'm'];
  return new Date(Date.now() + Number(match[1]) * unit);
}

async function keys(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (!['create', 'list', 'revoke'].includes(action ?? '')) throw new UsageError('keys needs create, list or revoke');
  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'] });
  try {
    const service = app.get(ApiKeyService);
    if (action === 'create') {
      const tenant = option(rest, '--tenant');
      const scopes = option(rest, '--scopes');
      if (!tenant || !scopes) throw new UsageError('keys create needs --tenant and --scopes');
      const created = await service.create({
        tenant,
        scopes: scopes
          .split(',')
          .map((scope) => scope.trim())
          .filter(Boolean),
        name: option(rest, '--name'),
        expiresAt: expiryOf(option(rest, '--expires-in')),
      });
      print(`key id:  ${created.key.id}`);
      print(`tenant:  ${created.tenantName}`);
      print(`scopes:  ${created.key.scopes.join(',')}`);
      print(`expires: ${created.key.expiresAt?.toISOString() ?? 'never'}`);
      print('The key is shown this once; it is stored only as a hash:');
      print(created.text);
    } else if (action === 'list') {
      for (const { key, tenantName } of await service.list(option(rest, '--tenant'))) {
        const state = key.revokedAt ? 'revoked' : key.expiresAt && key.expiresAt <= new Date() ? 'expired' : 'active';
        print(
          [key.id, key.prefix, tenantName, key.scopes.join(','), state, key.createdAt.toISOString(), key.name].join(
            '  ',
          ),
        );
      }
    } else {
      const id = rest[0];
      if (!id || !/^[0-9a-f-]{36}$/i.test(id)) throw new UsageError('keys revoke needs a key id');
      const { key } = await service.revoke(id);
      print(`revoked ${key.id} (${key.prefix})`);
    }
  } finally {
    await app.close();
  }
}

async function tenants(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'webhook-secret') throw new UsageError('tenants needs webhook-secret');
  const name = option(rest, '--tenant');
  if (!name) throw new UsageError('tenants webhook-secret needs --tenant');
  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'] });
  try {
    const tenantId = await app.get(ApiKeyService).tenantIdByName(name);
    if (!tenantId) throw new UsageError(`there is no tenant named ${name}`);
    const secrets = app.get(WebhookSecretRepository);
    const rotate = rest.includes('--rotate');
    const secret = rotate ? await secrets.rotateSecret(tenantId) : await secrets.secretOf(tenantId);
    print(`tenant:  ${name} (${tenantId})`);
    print(rotate ? 'A new webhook secret; deliveries from now on are signed with it:' : 'Webhook secret:');
    print(secret);
  } finally {
    await app.close();
  }
}

/** An ISO 8601 time given to a flag. */
function timeOf(args: string[], name: string): Date | undefined {
  const value = option(args, name);
  if (value === undefined) return undefined;
  const time = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time.getTime())) {
    throw new UsageError(`${name} takes an ISO 8601 time, e.g. 2026-01-31T00:00:00Z`);
  }
  return time;
}

async function audit(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'verify' && action !== 'export') throw new UsageError('audit needs verify or export');
  const app = await NestFactory.createApplicationContext(CliModule, { logger: ['error', 'warn'] });
  try {
    const service = app.get(AuditService);
    const tenantName = option(rest, '--tenant');
    let tenantId: string | undefined;
    if (tenantName !== undefined) {
      const found = await service.tenantIdByName(tenantName);
      if (!found) throw new UsageError(`there is no tenant named ${tenantName}`);
      tenantId = found;
    }
    if (action === 'verify') {
      const verdict = AuditVerificationResponseDto.from(await service.verify(tenantId));
      print(JSON.stringify(verdict));
      if (!verdict.valid) process.exitCode = 1;
      return;
    }
    const filter = { tenantId, from: timeOf(rest, '--from'), to: timeOf(rest, '--to') };
    for await (const record of service.export(filter)) {
      // An archive can be large: wait for the pipe rather than hold it all in memory.
      if (!process.stdout.write(`${JSON.stringify(AuditRecordDto.from(record))}\n`))
        await once(process.stdout, 'drain');
    }
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
    case 'keys':
      await keys(args);
      return;
    case 'tenants':
      await tenants(args);
      return;
    case 'audit':
      await audit(args);
      return;
    default:
      throw new UsageError(command ? `unknown command: ${command}` : 'no command given');
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}`);
  else if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else if (error instanceof DomainError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(error instanceof UsageError || error instanceof ValidationError ? 2 : 1);
});

import { MIGRATIONS } from '@app/database';
import { AppProcess, TestDatabase, runCli } from '@app/testing';

describe('start-up configuration', () => {
  it('refuses to start the api with invalid settings and names every problem', async () => {
    const api = AppProcess.start('api', { PORT: 'http', QUEUE_CONCURRENCY: '-1', REDIS_URL: 'localhost:6379' });
    expect(await api.waitForExit()).toEqual({ code: 1, signal: null });
    expect(api.stderr).toContain('Invalid configuration:');
    expect(api.stderr).toContain('PORT must be an integer from 1 to 65535; got "http"');
    expect(api.stderr).toContain('QUEUE_CONCURRENCY must be an integer from 1 to 256; got "-1"');
    expect(api.stderr).toContain('REDIS_URL must use redis:// or rediss://; got "localhost://"');
  });

  it('refuses to start the api in production with a placeholder secret of the examples, naming the variable', async () => {
    const api = AppProcess.start('api', {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://user:password@127.0.0.1:5432/research',
      REDIS_URL: 'redis://127.0.0.1:6379/0',
      LLM_BASE_URL: 'http://127.0.0.1:9/v1',
      LLM_API_KEY: 'change-me',
    });
    expect(await api.waitForExit()).toEqual({ code: 1, signal: null });
    expect(api.stderr).toContain('Invalid configuration:');
    expect(api.stderr).toContain('DATABASE_URL uses the placeholder password "password"');
    expect(api.stderr).toContain('LLM_API_KEY is the placeholder "change-me"');
    expect(api.lines.filter((line) => line.message === 'api listening')).toEqual([]);
  });

  it('refuses to start the worker in production without connection URLs', async () => {
    const worker = AppProcess.start('worker', { NODE_ENV: 'production' });
    expect(await worker.waitForExit()).toEqual({ code: 1, signal: null });
    expect(worker.stderr).toContain('DATABASE_URL is required');
    expect(worker.stderr).toContain('REDIS_URL is required');
  });
});

describe('operations CLI', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await TestDatabase.create('cli');
  });

  afterAll(async () => {
    await database?.drop();
  });

  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: database.url });

  it('applies migrations once, shows them, and reverts and re-applies the last one', async () => {
    const names = MIGRATIONS.map((migration) => new migration().name as string);
    const last = names.at(-1) as string;
    expect((await cli('migrate')).stdout).toContain('no pending migrations');
    expect((await cli('migrate:show')).stdout).toBe(names.map((name) => `[X] ${name}\n`).join(''));
    expect((await cli('migrate:revert')).code).toBe(0);
    expect((await cli('migrate:show')).stdout).toContain(`[ ] ${last}`);
    const applied = await database.query<{ name: string }>(`SELECT name FROM migrations ORDER BY id`);
    expect(applied.map((row) => row.name)).toEqual(names.slice(0, -1));
    expect((await cli('migrate')).stdout).toBe(`applied ${last}\n`);
  });

  it('creates the database when it does not exist, and leaves it when it does', async () => {
    const name = `${database.name}_created`;
    const url = database.url.replace(/\/[^/]+$/, `/${name}`);
    try {
      expect((await runCli(['db:create'], { DATABASE_URL: url })).stdout).toBe('database created\n');
      expect((await runCli(['db:create'], { DATABASE_URL: url })).stdout).toBe('database already exists\n');
    } finally {
      await database.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  });

  it('ingests a folder once: a second run finds every file already present', async () => {
    expect((await cli('ingest', 'examples/corpus')).stdout).toBe(
      'files: 6, added: 6, already present: 0, skipped: 0\n',
    );
    expect((await cli('ingest', 'examples/corpus')).stdout).toBe(
      'files: 6, added: 0, already present: 6, skipped: 0\n',
    );
    const titles = await database.query<{ title: string }>(`SELECT title FROM documents ORDER BY title`);
    expect(titles.map((row) => row.title)).toContain('2024 年全球 AI 晶片市場概況');
    expect(titles.map((row) => row.title)).toContain('coffee-brewing');
  });

  it('explains its usage and fails clearly on bad arguments', async () => {
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command: frobnicate');
    expect(unknown.stderr).toContain('Usage:');
    const missing = await cli('ingest', '/no/such/folder');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ENOENT');
  });
});

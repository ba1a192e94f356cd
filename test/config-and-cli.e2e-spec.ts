import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS } from '@app/database';
import { Client, QueryResultRow } from 'pg';
import { AppProcess, TestDatabase, entryPoint, runCli, sampleDocument, samplePdf } from '@app/testing';

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

/** One query on the database at `url`, on a connection of its own. */
async function queryAt<R extends QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

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

  it('ingests a folder once: a second run finds every file unchanged', async () => {
    expect((await cli('ingest', 'examples/corpus')).stdout).toBe(
      'files: 6, added: 6, updated: 0, unchanged: 0, skipped: 0\n',
    );
    expect((await cli('ingest', 'examples/corpus')).stdout).toBe(
      'files: 6, added: 0, updated: 0, unchanged: 6, skipped: 0\n',
    );
    const titles = await database.query<{ title: string }>(`SELECT title FROM documents ORDER BY title`);
    expect(titles.map((row) => row.title)).toContain('2024 年全球 AI 晶片市場概況');
    expect(titles.map((row) => row.title)).toContain('coffee-brewing');
  });

  it('does not index an unchanged file again: a re-ingest under a text time limit no indexing could meet', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'ingest-large-'));
    try {
      await writeFile(join(folder, 'large.txt'), sampleDocument('en', 1024 * 1024));
      expect((await cli('ingest', folder)).stdout).toBe('files: 1, added: 1, updated: 0, unchanged: 0, skipped: 0\n');
      // Indexing 1 MiB takes far more than 10 ms: had it been indexed again, it would be skipped.
      const again = await runCli(['ingest', folder], { DATABASE_URL: database.url, TEXT_TASK_TIMEOUT_MS: '10' });
      expect(again.stdout).toBe('files: 1, added: 0, updated: 0, unchanged: 1, skipped: 0\n');
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  // `script` (util-linux) runs the CLI on a pseudo-terminal, as a person at a terminal would.
  const onTerminal = spawnSync('script', ['--version']).status === 0 ? it : it.skip;
  onTerminal('shows a progress bar on a terminal, then the same summary', async () => {
    const command = `${process.execPath} ${entryPoint('cli')} ingest examples/corpus`;
    const shown = spawnSync('script', ['-qec', command, '/dev/null'], {
      cwd: join(__dirname, '..'),
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: database.url, TERM: 'xterm' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(/ingesting [█░]+ \d+\/6/);
    expect(shown.stdout).toContain('files: 6, added: 0, updated: 0, unchanged: 6, skipped: 0');
  });

  it('explains its usage and fails clearly on bad arguments', async () => {
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command: frobnicate');
    expect(unknown.stderr).toContain('Usage:');
    const missing = await cli('ingest', '/no/such/folder');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('/no/such/folder does not exist\n');
  });

  it('ingests on a database that does not exist yet, HTML included, skipping bad files with one line each, and replaces a changed file', async () => {
    const name = `${database.name}_ingest`;
    const url = database.url.replace(/\/[^/]+$/, `/${name}`);
    const folder = await mkdtemp(join(tmpdir(), 'ingest-'));
    const ingest = () => runCli(['ingest', folder], { DATABASE_URL: url });
    try {
      await writeFile(join(folder, 'notes.md'), '# HBM notes\n\nSK hynix led HBM supply in 2024.\n');
      await writeFile(
        join(folder, 'page.html'),
        '<html><head><title>HBM market</title></head><body><nav>Home | Subscribe</nav><article>' +
          '<p>Samsung followed SK hynix in HBM supply in 2024, and Micron came third.</p>' +
          '<p>Demand for AI accelerators kept HBM supply short all year.</p></article></body></html>',
      );
      await writeFile(join(folder, 'binary.txt'), Buffer.from([0x48, 0x00, 0x42, 0x4d]));
      await writeFile(join(folder, 'latin1.txt'), Buffer.from('caf\xe9 au lait', 'latin1'));
      await writeFile(join(folder, 'empty.md'), '  \n');
      await writeFile(join(folder, 'broken.pdf'), '%PDF-1.4 not really');
      await writeFile(
        join(folder, 'report.pdf'),
        samplePdf(['HBM supply report', 'SK hynix led HBM supply in 2024.'], 'HBM report 2024'),
      );
      await writeFile(join(folder, 'ignored.docx'), 'not ingested');
      await symlink('/no/such/target.md', join(folder, 'broken.md'));

      const first = await ingest();
      expect(first.code).toBe(1);
      const lines = first.stdout.trim().split('\n');
      expect(lines.slice(0, 2)).toEqual(['database created', `applied ${MIGRATIONS.length} migrations`]);
      expect(lines.slice(2)).toEqual([
        'files: 8, added: 3, updated: 0, unchanged: 0, skipped: 5',
        '  skipped binary.txt: binary content',
        '  skipped broken.md: cannot be read (ENOENT)',
        '  skipped broken.pdf: not a readable PDF',
        '  skipped empty.md: empty',
        '  skipped latin1.txt: not UTF-8 text',
      ]);
      expect(first.stderr).toBe('');

      const stored = await queryAt<{ title: string; text: string; path: string; passages: number }>(
        url,
        `SELECT d.title, d.text, d.metadata->>'path' AS path,
                (SELECT count(*)::int FROM document_passages p WHERE p.document_id = d.id) AS passages
           FROM documents d ORDER BY path`,
      );
      expect(stored.map((row) => [row.path, row.title])).toEqual([
        ['notes.md', 'HBM notes'],
        ['page.html', 'HBM market'],
        ['report.pdf', 'HBM report 2024'],
      ]);
      expect(stored[2]!.text).toBe('HBM supply report\nSK hynix led HBM supply in 2024.');
      expect(stored[1]!.text).toContain('Samsung followed SK hynix in HBM supply in 2024');
      expect(stored[1]!.text).not.toContain('Subscribe');
      expect(stored.every((row) => row.passages > 0)).toBe(true);

      const again = await ingest();
      expect(again.stdout.split('\n')[0]).toBe('files: 8, added: 0, updated: 0, unchanged: 3, skipped: 5');

      await writeFile(join(folder, 'notes.md'), '# HBM notes\n\nSK hynix and Samsung shared HBM supply in 2025.\n');
      const changed = await ingest();
      expect(changed.stdout.split('\n')[0]).toBe('files: 8, added: 0, updated: 1, unchanged: 2, skipped: 5');
      const notes = await queryAt<{ text: string }>(
        url,
        `SELECT text FROM documents WHERE metadata->>'path' = 'notes.md'`,
      );
      expect(notes.map((row) => row.text)).toEqual([
        '# HBM notes\n\nSK hynix and Samsung shared HBM supply in 2025.\n',
      ]);
      const orphans = await queryAt<{ n: number }>(
        url,
        `SELECT count(*)::int AS n FROM document_passages p LEFT JOIN documents d ON d.id = p.document_id WHERE d.id IS NULL`,
      );
      expect(orphans[0]!.n).toBe(0);

      // A copy of a file is stored once, as the file it copies, and reported as such.
      await writeFile(join(folder, 'copy.md'), '# HBM notes\n\nSK hynix and Samsung shared HBM supply in 2025.\n');
      const copied = await ingest();
      const copiedLines = copied.stdout.split('\n');
      expect(copiedLines[0]).toBe('files: 9, added: 0, updated: 0, unchanged: 3, skipped: 6');
      expect(copiedLines).toContain('  skipped copy.md: the same text is already in the corpus as notes.md');
      const paths = await queryAt<{ path: string }>(url, `SELECT metadata->>'path' AS path FROM documents ORDER BY 1`);
      expect(paths.map((row) => row.path)).toEqual(['notes.md', 'page.html', 'report.pdf']);
    } finally {
      await rm(folder, { recursive: true, force: true });
      await database.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  });
});

import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../test-stack';
import { waitFor } from '../wait-for';

const PG_BIN = ['/usr/lib/postgresql/15/bin'].find((dir) => existsSync(join(dir, 'pg_ctl')));
const RUN_AS = 'postgres';

export type PostgresStopMode = 'fast' | 'immediate';

/**
 * A PostgreSQL cluster of the fault suite's own, on a free port of 127.0.0.1 with trust auth, so
 * a scenario can stop, crash and restart it without touching the machine's server. PostgreSQL
 * refuses to run as root: under root its programs run as the `postgres` user.
 */
export class PostgresCluster {
  private running = false;
  private destroyed = false;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** What `TestStack`'s `postgresServer` takes: the server, without a database name. */
  get serverUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}`;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get logFile(): string {
    return join(this.dir, 'postgres.log');
  }

  static async start(): Promise<PostgresCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'research-faults-pg-'));
    const cluster = new PostgresCluster(await freePort(), dir);
    track(cluster);
    try {
      if (asRoot()) chownSync(dir, ...postgresIds());
      await run('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
      await cluster.startServer();
      return cluster;
    } catch (error) {
      cluster.destroySync();
      throw error;
    }
  }

  /** Starts the server and waits until it accepts connections. */
  async startServer(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      "-c listen_addresses='127.0.0.1'",
      `-c unix_socket_directories='${this.dir}'`,
      // A crash here is a killed process, not a lost machine: what the OS holds survives it.
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    await run('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-o', options, '-w', '-t', '60', 'start']);
    this.running = true;
    await waitFor(`PostgreSQL on port ${this.port} to accept connections`, () => this.accepts(), 30000, 100);
  }

  /** `fast` ends every session and shuts down cleanly; `immediate` is a crash, recovered from the WAL at the next start. */
  async stopServer(mode: PostgresStopMode = 'fast'): Promise<void> {
    await run('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  async restart(mode: PostgresStopMode = 'fast'): Promise<void> {
    await this.stopServer(mode);
    await this.startServer();
  }

  /** True when a connection to the server succeeds now. */
  async accepts(): Promise<boolean> {
    const client = new Client({ connectionString: `${this.serverUrl}/postgres`, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Stops the server at once and removes its directory. */
  async destroy(): Promise<void> {
    this.destroySync();
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    untrack(this);
    if (this.running || existsSync(join(this.dataDir, 'postmaster.pid'))) {
      const [command, args] = asPostgres('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
      spawnSync(command, args, { stdio: 'ignore' });
      this.running = false;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Every cluster still up, stopped when the test process exits without tearing down. */
  static destroyAllSync(): void {
    for (const cluster of [...live]) cluster.destroySync();
  }
}

/** Clusters not destroyed yet; while there are any, the test process stops them when it exits. */
const live = new Set<PostgresCluster>();
const onExit = (): void => PostgresCluster.destroyAllSync();

function track(cluster: PostgresCluster): void {
  if (live.size === 0) process.once('exit', onExit);
  live.add(cluster);
}

function untrack(cluster: PostgresCluster): void {
  live.delete(cluster);
  if (live.size === 0) process.off('exit', onExit);
}

function asRoot(): boolean {
  return process.getuid?.() === 0;
}

function postgresIds(): [number, number] {
  const uid = spawnSync('id', ['-u', RUN_AS], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', RUN_AS], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error(`running as root needs a "${RUN_AS}" user: ${uid.stderr}`);
  return [Number(uid.stdout.trim()), Number(gid.stdout.trim())];
}

function asPostgres(program: string, args: string[]): [string, string[]] {
  const path = PG_BIN ? join(PG_BIN, program) : program;
  return asRoot() ? ['runuser', ['-u', RUN_AS, '--', path, ...args]] : [path, args];
}

function run(program: string, args: string[]): Promise<void> {
  const [command, fullArgs] = asPostgres(program, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${program} ${args.join(' ')} exited ${code}: ${output.trim()}`));
    });
  });
}

import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from '../test-stack';
import { waitFor } from '../wait-for';

/**
 * A Redis server of the fault suite's own, a child process on a free port of 127.0.0.1 with no
 * persistence: a restart comes back empty, as a Redis that lost its memory does. Scenarios kill,
 * restart and flush it without touching the machine's server.
 */
export class RedisProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** What `TestStack`'s `redisServer` takes: the server, without a database number. */
  get serverUrl(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  static async start(): Promise<RedisProcess> {
    const redis = new RedisProcess(await freePort(), mkdtempSync(join(tmpdir(), 'research-faults-redis-')));
    track(redis);
    try {
      await redis.startServer();
      return redis;
    } catch (error) {
      await redis.destroy();
      throw error;
    }
  }

  async startServer(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.child = child;
    void this.exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    await waitFor(
      `redis-server on port ${this.port} to answer PING`,
      async () => {
        if (!this.child) throw new Error(`redis-server exited: ${this.output.trim()}`);
        return (await this.ping()) === 'PONG';
      },
      15000,
      50,
    );
  }

  /** Kills the server (SIGKILL: what it held in memory is gone) and waits until it has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
    this.child = undefined;
  }

  /** Kills the server and starts an empty one on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.startServer();
  }

  /** FLUSHALL: every key of every database is gone; the server and its connections stay. */
  async flushAll(): Promise<void> {
    await this.withClient((client) => client.flushall());
  }

  /** The number of keys in database `db`. */
  dbSize(db = 0): Promise<number> {
    return this.withClient(async (client) => {
      await client.select(db);
      return client.dbsize();
    });
  }

  async destroy(): Promise<void> {
    untrack(this);
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Kills every server still up when the test process exits without tearing down. */
  static destroyAllSync(): void {
    for (const redis of [...live]) {
      redis.child?.kill('SIGKILL');
      rmSync(redis.dir, { recursive: true, force: true });
      untrack(redis);
    }
  }

  private async ping(): Promise<string | undefined> {
    return this.withClient((client) => client.ping()).catch(() => undefined);
  }

  private async withClient<T>(work: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis(this.serverUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await work(client);
    } finally {
      client.disconnect();
    }
  }
}

/** Servers not destroyed yet; while there are any, the test process kills them when it exits. */
const live = new Set<RedisProcess>();
const onExit = (): void => RedisProcess.destroyAllSync();

function track(redis: RedisProcess): void {
  if (live.size === 0) process.once('exit', onExit);
  live.add(redis);
}

function untrack(redis: RedisProcess): void {
  live.delete(redis);
  if (live.size === 0) process.off('exit', onExit);
}

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import Redis from 'ioredis';
import { AppProcess, CliResult, runCli } from './app-process';
import { HttpClient } from './http-client';
import { TestDatabase } from './test-database';
import { waitFor } from './wait-for';

const REDIS_SERVER = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TERMINAL = ['completed', 'failed', 'cancelled'];

export interface StackOptions {
  /** Names the database and the Redis prefix, for debugging. */
  label: string;
  /** Redis database number; suites that flush Redis use one of their own. */
  redisDb?: number;
  /** PostgreSQL server URL without a database name; the machine's server by default. */
  postgresServer?: string;
  /** Redis server URL without a database number; the machine's server by default. */
  redisServer?: string;
  env?: Record<string, string>;
}

/** Timings short enough for tests, long enough not to flap on a loaded 2-core machine. */
const FAST_TIMINGS: Record<string, string> = {
  LOG_LEVEL: 'info',
  RESEARCH_LEASE_MS: '3000',
  QUEUE_LOCK_MS: '3000',
  RESEARCH_BACKOFF_MS: '200',
  RECONCILE_INTERVAL_MS: '500',
  RECONCILE_GRACE_MS: '1000',
  SHUTDOWN_TIMEOUT_MS: '10000',
  // Suites poll and fire requests faster than any client should; the rate-limit suite turns it on.
  RATE_LIMIT_ENABLED: 'false',
};

/**
 * The real api and workers as processes, against a database and a Redis key space of the
 * suite's own, with helpers to drive them over HTTP.
 */
export class TestStack {
  api: AppProcess | undefined;
  readonly workers: AppProcess[] = [];
  readonly redis: Redis;
  http: HttpClient;
  private tornDown: Promise<void> | undefined;

  private constructor(
    readonly database: TestDatabase,
    readonly env: Record<string, string>,
    readonly apiPort: number,
  ) {
    this.redis = new Redis(env.REDIS_URL as string, { lazyConnect: false, maxRetriesPerRequest: 1 });
    this.http = new HttpClient(`http://127.0.0.1:${apiPort}`);
  }

  static async create(options: StackOptions): Promise<TestStack> {
    const database = await TestDatabase.create(options.label, options.postgresServer);
    const apiPort = options.env?.PORT ? Number(options.env.PORT) : await freePort();
    const env: Record<string, string> = {
      ...FAST_TIMINGS,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      DATABASE_URL: database.url,
      REDIS_URL: `${options.redisServer ?? REDIS_SERVER}/${options.redisDb ?? 0}`,
      QUEUE_PREFIX: `test-${options.label}-${randomBytes(3).toString('hex')}`,
      ...options.env,
    };
    return new TestStack(database, env, apiPort);
  }

  async startApi(env: Record<string, string> = {}): Promise<AppProcess> {
    this.api = await AppProcess.startServing('api', { ...this.env, ...env }, this.apiPort);
    return this.api;
  }

  async startWorker(env: Record<string, string> = {}): Promise<AppProcess> {
    const port = env.WORKER_PORT ? Number(env.WORKER_PORT) : await freePort();
    const worker = await AppProcess.startServing('worker', { ...this.env, WORKER_PORT: String(port), ...env }, port);
    this.workers.push(worker);
    return worker;
  }

  cli(args: string[]): Promise<CliResult> {
    return runCli(args, this.env);
  }

  /** Submits a research and returns its id. */
  async submit(body: Record<string, unknown>, headers?: Record<string, string>): Promise<string> {
    const response = await this.http.post('/api/v1/research', body, headers);
    if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${response.text}`);
    return (response.body as { research_id: string }).research_id;
  }

  async research(id: string): Promise<any> {
    const response = await this.http.get(`/api/v1/research/${id}`);
    if (response.status !== 200) throw new Error(`GET research answered ${response.status}: ${response.text}`);
    return response.body;
  }

  /** Polls the API until the research is in one of `statuses` (terminal ones by default). */
  waitForStatus(id: string, statuses: string[] = TERMINAL, timeoutMs = 20000): Promise<any> {
    return waitFor(
      `research ${id} to be ${statuses.join(' or ')}`,
      async () => {
        const research = await this.research(id);
        return statuses.includes(research.status) ? research : undefined;
      },
      timeoutMs,
      50,
    );
  }

  async addDocument(document: { title: string; text: string; url?: string }): Promise<string> {
    const response = await this.http.post('/api/v1/documents', document);
    if (response.status !== 201 && response.status !== 200)
      throw new Error(`add document: ${response.status} ${response.text}`);
    return (response.body as { document_id: string }).document_id;
  }

  /** Bull's keys of this stack's queue. */
  queueKeys(): Promise<string[]> {
    return this.redis.keys(`${this.env.QUEUE_PREFIX}:*`);
  }

  /**
   * The apps of the stack that exited, each with its exit status and the end of its stderr: what
   * a scenario that failed because a process died adds to its error. Empty while all run.
   */
  exitedApps(): string {
    return [...(this.api ? [this.api] : []), ...this.workers]
      .filter((app) => !app.running)
      .map((app) => `${app.app} (pid ${app.pid}) exited ${JSON.stringify(app.exit)}:\n${app.stderr.slice(-2000)}`)
      .join('\n');
  }

  /** Stops the processes, removes the queue keys and drops the database; once, however often called. */
  teardown(): Promise<void> {
    this.tornDown ??= this.tearDownOnce();
    return this.tornDown;
  }

  private async tearDownOnce(): Promise<void> {
    await Promise.all([...this.workers, ...(this.api ? [this.api] : [])].map((process) => process.stop()));
    const keys = await this.queueKeys().catch(() => []);
    if (keys.length > 0) await this.redis.del(...keys);
    this.redis.disconnect();
    await this.database.drop();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

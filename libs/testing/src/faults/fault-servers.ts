import { TestStack } from '../test-stack';
import { PostgresCluster } from './postgres-cluster';
import { RedisProcess } from './redis-process';

/**
 * The PostgreSQL cluster and the Redis server a fault scenario may kill: started for one suite,
 * shared by its stacks (each with a database and a queue prefix of its own), removed at the end.
 */
export class FaultServers {
  private readonly stacks: TestStack[] = [];

  private constructor(
    readonly postgres: PostgresCluster,
    readonly redis: RedisProcess,
  ) {}

  static async start(): Promise<FaultServers> {
    const [postgres, redis] = await Promise.allSettled([PostgresCluster.start(), RedisProcess.start()]);
    if (postgres.status === 'fulfilled' && redis.status === 'fulfilled') {
      return new FaultServers(postgres.value, redis.value);
    }
    if (postgres.status === 'fulfilled') await postgres.value.destroy();
    if (redis.status === 'fulfilled') await redis.value.destroy();
    throw postgres.status === 'rejected' ? postgres.reason : (redis as PromiseRejectedResult).reason;
  }

  /** A stack over these servers; torn down by `destroy()` if the scenario has not done it. */
  async stack(label: string, env: Record<string, string> = {}): Promise<TestStack> {
    const stack = await TestStack.create({
      label,
      postgresServer: this.postgres.serverUrl,
      redisServer: this.redis.serverUrl,
      env,
    });
    this.stacks.push(stack);
    return stack;
  }

  /**
   * Stops every process of the stacks, then the servers, and removes their files; servers come
   * back up first if a failed scenario left them down, so the apps can shut down cleanly.
   */
  async destroy(): Promise<void> {
    try {
      if (!this.redis.running) await this.redis.startServer().catch(() => undefined);
      if (!(await this.postgres.accepts())) await this.postgres.startServer().catch(() => undefined);
      await Promise.allSettled(this.stacks.splice(0).map((stack) => stack.teardown()));
    } finally {
      await Promise.allSettled([this.postgres.destroy(), this.redis.destroy()]);
    }
  }
}

import { randomUUID } from 'node:crypto';
import { FaultServers, TestStack, addFaultCorpus, faultQuestion, settleResearches } from '@app/testing';

/**
 * The fault harness itself: its servers are its own and survive what the scenarios do to them,
 * and the outcome check reports each broken invariant, so a scenario that passes means something.
 */
describe('fault harness', () => {
  let servers: FaultServers;
  let stack: TestStack;
  let ids: string[];

  beforeAll(async () => {
    servers = await FaultServers.start();
    stack = await servers.stack('harness');
    await stack.startApi();
    await addFaultCorpus(stack);
    await stack.startWorker();
    ids = [];
    for (let n = 0; n < 4; n += 1) ids.push(await stack.submit({ question: faultQuestion(n) }));
  });

  afterAll(async () => {
    await servers?.destroy();
  });

  it('runs servers of its own, not the machine ones', () => {
    expect(servers.postgres.port).not.toBe(5432);
    expect(servers.redis.port).not.toBe(6379);
    expect(stack.env.DATABASE_URL).toContain(`127.0.0.1:${servers.postgres.port}/`);
    expect(stack.env.REDIS_URL).toBe(`redis://127.0.0.1:${servers.redis.port}/0`);
  });

  it('reports every research completed exactly once when nothing went wrong', async () => {
    const report = await settleResearches(stack.database, ids, { timeoutMs: 20000, http: stack.http });
    expect(report.violations).toEqual([]);
    expect(report.byStatus).toEqual({ completed: 4 });
  });

  it('keeps committed researches through a PostgreSQL crash, and Redis comes back empty from a restart', async () => {
    await servers.postgres.restart('immediate');
    expect((await settleResearches(stack.database, ids, { timeoutMs: 20000 })).byStatus).toEqual({ completed: 4 });
    expect(await servers.redis.dbSize()).toBeGreaterThan(0);
    await servers.redis.restart();
    expect(await servers.redis.dbSize()).toBe(0);
  });

  it('reports a missing research, a wrong status, a second terminal event and a lost result', async () => {
    const [twice, failed, emptied] = ids as [string, string, string, string];
    await stack.database.query(
      `INSERT INTO research_events (research_id, seq, tenant_id, type, data)
       SELECT id, event_seq + 1, tenant_id, 'research.completed', '{}' FROM researches WHERE id = $1`,
      [twice],
    );
    await stack.database.query(`UPDATE researches SET status = 'failed' WHERE id = $1`, [failed]);
    await stack.database.query(`UPDATE researches SET result = NULL WHERE id = $1`, [emptied]);
    const missing = randomUUID();

    const report = await settleResearches(stack.database, [...ids, missing], { timeoutMs: 500, http: stack.http });
    expect(report.byStatus).toEqual({ completed: 3, failed: 1, missing: 1 });
    expect(report.violations.sort()).toEqual(
      [
        `${twice}: 2 terminal events (research.completed, research.completed)`,
        `${failed}: failed after 1 run(s), expected completed`,
        `${failed}: status failed but terminal event research.completed`,
        `${emptied}: completed without a result`,
        `${emptied}: completed, but the api shows no report`,
        `${missing}: acknowledged but not in the database`,
      ].sort(),
    );
  });
});

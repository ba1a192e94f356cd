import { TestStack, sleep, waitFor } from '@app/testing';

/**
 * One tenant may have TENANT_MAX_RUNNING researches running at once; the others wait in the
 * queue, not refused, while other tenants' researches run. Runs are held mid-search by a lock on
 * the documents table.
 */
describe('per-tenant cap on running researches', () => {
  let stack: TestStack;
  let lock: { release(): Promise<void> } | undefined;

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'tenantcap', env: { TENANT_MAX_RUNNING: '1', QUEUE_CONCURRENCY: '4' } });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    await stack.startApi();
    await stack.startWorker();
  });

  afterAll(async () => {
    await lock?.release();
    await stack?.teardown();
  });

  const running = async () =>
    stack.database.query<{ tenant_id: string; n: number }>(
      `SELECT tenant_id, count(*)::int AS n FROM researches WHERE status = 'running' GROUP BY tenant_id`,
    );

  it('runs one research of a tenant at a time, queues the rest, and lets another tenant run meanwhile', async () => {
    const created = await stack.cli([
      'keys',
      'create',
      '--tenant',
      'other',
      '--scopes',
      'research:read,research:write',
    ]);
    const otherKey = created.stdout.trim().split('\n').at(-1) ?? '';
    lock = await stack.database.lockTable('documents');

    const mine = [
      await stack.submit({ question: 'NVIDIA data center revenue 2024' }),
      await stack.submit({ question: 'HBM supply 2024' }),
      await stack.submit({ question: 'TSMC CoWoS capacity' }),
    ];
    const theirs = await stack.submit(
      { question: 'AI accelerator market share' },
      { authorization: `Bearer ${otherKey}` },
    );

    await waitFor('one research of each tenant to run', async () => (await running()).length === 2, 15000);
    // For a while: never more than one of the default tenant's, and the other two wait, pending.
    for (let i = 0; i < 10; i += 1) {
      expect((await running()).every((row) => row.n === 1)).toBe(true);
      await sleep(150);
    }
    const statuses = await stack.database.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM researches WHERE id = ANY($1::uuid[]) GROUP BY status ORDER BY status`,
      [mine],
    );
    expect(statuses).toEqual([
      { status: 'pending', n: 2 },
      { status: 'running', n: 1 },
    ]);
    const worker = stack.workers[0]!;
    await worker.waitForLog('a research waiting for its tenant', (line) =>
      line.message.startsWith('tenant runs as many researches as it may'),
    );

    await lock.release();
    lock = undefined;
    for (const id of mine) expect((await stack.waitForStatus(id)).status).toBe('completed');
    const other = await stack.http.get(`/api/v1/research/${theirs}`, { authorization: `Bearer ${otherKey}` });
    expect(other.body.status).toBe('completed');
    // Waiting for the cap spent no attempt.
    const attempts = await stack.database.query<{ attempts: number }>(
      `SELECT attempts FROM researches WHERE id = ANY($1::uuid[])`,
      [mine],
    );
    expect(attempts.map((row) => row.attempts)).toEqual([1, 1, 1]);
  });
});

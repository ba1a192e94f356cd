import { randomUUID } from 'node:crypto';
import { loadConfig } from '@app/config';
import { DatabaseModule, UnitOfWork } from '@app/database';
import { TestConfigModule, TestDatabase } from '@app/testing';
import { Test, TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AuditOutcome } from '../audit-action';
import { AuditEntry } from '../audit-record';
import { AuditService } from '../audit.service';
import { AuditWriter } from '../audit.writer';
import { AuditRepository } from './audit.repository';

/** Appending to and walking the chains in a real database, with its triggers. */
describe('AuditRepository', () => {
  let database: TestDatabase;
  let module: TestingModule;
  let repository: AuditRepository;
  let service: AuditService;
  let unitOfWork: UnitOfWork;
  const tenantA = randomUUID();
  const tenantB = randomUUID();

  beforeAll(async () => {
    database = await TestDatabase.create('audit_repository', undefined, { migrate: false });
    module = await Test.createTestingModule({
      imports: [TestConfigModule.with(loadConfig({ NODE_ENV: 'test', DATABASE_URL: database.url })), DatabaseModule],
      providers: [AuditRepository, AuditService, AuditWriter],
    }).compile();
    await module.init();
    await module.get(DataSource).runMigrations();
    repository = module.get(AuditRepository);
    service = module.get(AuditService);
    unitOfWork = module.get(UnitOfWork);
  });

  afterAll(async () => {
    await module?.close();
    await database?.drop();
  });

  const entry = (tenantId: string | null, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
    id: randomUUID(),
    tenantId,
    occurredAt: new Date(),
    actor: 'anonymous',
    action: 'research.create',
    resourceType: 'research',
    resourceId: randomUUID(),
    outcome: AuditOutcome.Success,
    statusCode: 202,
    requestId: randomUUID(),
    clientIp: '127.0.0.1',
    userAgent: 'spec',
    occurrences: 1,
    ...overrides,
  });
  const seqs = async (tenantId: string) =>
    (
      await database.query<{ seq: string }>('SELECT seq FROM audit_records WHERE tenant_id = $1 ORDER BY seq', [
        tenantId,
      ])
    ).map((row) => Number(row.seq));

  it('chains concurrent appends of one tenant one after another, without gaps or forks', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 4 === 0
          ? repository.append([entry(tenantA), entry(tenantB), entry(null)])
          : unitOfWork.run(() => repository.append([entry(tenantA)])),
      ),
    );
    expect(await seqs(tenantA)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await seqs(tenantB)).toEqual([1, 2, 3, 4, 5]);
    const verdicts = await service.verify();
    expect(verdicts.map((v) => [v.tenantId, v.valid, v.checked])).toEqual(
      expect.arrayContaining([
        [tenantA, true, 20],
        [tenantB, true, 5],
        [null, true, 5],
      ]),
    );
  });

  it('leaves neither record nor head change when the unit of work rolls back', async () => {
    const before = await seqs(tenantA);
    const head = await database.query('SELECT last_seq FROM audit_chain_heads WHERE tenant_id = $1', [tenantA]);
    await expect(
      unitOfWork.run(async () => {
        await repository.append([entry(tenantA)]);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await seqs(tenantA)).toEqual(before);
    expect(await database.query('SELECT last_seq FROM audit_chain_heads WHERE tenant_id = $1', [tenantA])).toEqual(
      head,
    );
    expect((await service.verify(tenantA))[0]).toMatchObject({ valid: true, checked: before.length });
  });

  it('refuses to update, delete or truncate records, and to move a chain head back', async () => {
    await expect(database.query(`UPDATE audit_records SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(database.query(`DELETE FROM audit_records`)).rejects.toThrow(/append-only/);
    await expect(database.query(`TRUNCATE audit_records`)).rejects.toThrow(/append-only/);
    await expect(database.query(`UPDATE audit_chain_heads SET last_seq = 1`)).rejects.toThrow(/only move forward/);
    await expect(database.query(`DELETE FROM audit_chain_heads`)).rejects.toThrow(/only move forward/);
  });

  it('names the record a superuser edited past the trigger, and a tail a superuser removed', async () => {
    const tenant = randomUUID();
    const records = await repository.append([entry(tenant), entry(tenant), entry(tenant), entry(tenant)]);
    const client = await database.connect();
    try {
      await client.query(`SET session_replication_role = replica`);
      await client.query(`UPDATE audit_records SET status_code = 200 WHERE id = $1`, [records[1]!.id]);
      expect((await service.verify(tenant))[0]).toMatchObject({
        valid: false,
        firstBrokenId: records[1]!.id,
        firstBrokenSeq: 2,
        problem: 'content_changed',
      });
      await client.query(`DELETE FROM audit_records WHERE tenant_id = $1 AND seq >= 2`, [tenant]);
      expect((await service.verify(tenant))[0]).toMatchObject({
        valid: false,
        checked: 1,
        firstBrokenId: null,
        firstBrokenSeq: 2,
        problem: 'records_missing_at_end',
      });
    } finally {
      await client.end();
    }
  });

  it('keeps the record of a change in the outbox only if the change commits, and chains it once, whoever takes it', async () => {
    const tenant = randomUUID();
    const committed = [entry(tenant), entry(tenant), entry(tenant), entry(tenant), entry(tenant)];
    await Promise.all(committed.map((e) => unitOfWork.run(() => service.recordInTransaction(e))));
    await expect(
      unitOfWork.run(async () => {
        await service.recordInTransaction(entry(tenant, { action: 'research.cancel' }));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const outbox = () =>
      database.query<{ id: string }>('SELECT id FROM audit_outbox WHERE tenant_id = $1 ORDER BY position', [tenant]);
    expect((await outbox()).map((row) => row.id).sort()).toEqual(committed.map((e) => e.id).sort());

    // Three writers, as of three api replicas, take from the outbox at once, two records at a time.
    const writers = module.get(AuditWriter);
    await writers.flush();
    const moved = await Promise.all([1, 2, 3].map(() => repository.chainFromOutbox(2)));
    expect(moved.reduce((sum, n) => sum + n, 0) + (await outbox()).length).toBeLessThanOrEqual(5);
    while ((await repository.chainFromOutbox(2)) > 0);
    expect(await outbox()).toEqual([]);
    const chained = await database.query<{ id: string; seq: string }>(
      'SELECT id, seq FROM audit_records WHERE tenant_id = $1 ORDER BY seq',
      [tenant],
    );
    expect(chained.map((row) => row.id).sort()).toEqual(committed.map((e) => e.id).sort());
    expect(chained.map((row) => Number(row.seq))).toEqual([1, 2, 3, 4, 5]);
    expect((await service.verify(tenant))[0]).toMatchObject({ valid: true, checked: 5 });
  });

  it('exports a chain in sequence order within a period', async () => {
    const tenant = randomUUID();
    const at = (second: number) => new Date(Date.UTC(2026, 5, 1, 0, 0, second));
    await repository.append([0, 1, 2, 3].map((s) => entry(tenant, { occurredAt: at(s) })));
    const exported = [];
    for await (const record of service.export({ tenantId: tenant, from: at(1), to: at(3) })) exported.push(record);
    expect(exported.map((record) => [record.seq, record.occurredAt.toISOString()])).toEqual([
      [2, at(1).toISOString()],
      [3, at(2).toISOString()],
    ]);
  });
});

import { loadConfig } from '@app/config';
import { waitFor } from '@app/testing';
import { Logger } from '@nestjs/common';
import { AuditOutcome } from './audit-action';
import { AuditEntry } from './audit-record';
import { AuditWriter, OUTBOX_SWEEP_MS } from './audit.writer';
import { AuditRepository } from './persistence/audit.repository';

/** Stands in for PostgreSQL: takes batches, or refuses them as a server that is down would. */
class FakeRepository {
  readonly batches: string[][] = [];
  /** Records of committed changes, not chained yet. */
  readonly outbox: string[] = [];
  down = false;
  /** Ids PostgreSQL refuses for good (a value it cannot store). */
  readonly refused = new Set<string>();
  readonly occurrences = new Map<string, number>();

  async append(entries: readonly AuditEntry[]): Promise<unknown[]> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    if (entries.some((entry) => this.refused.has(entry.id))) throw new Error('invalid input syntax');
    this.batches.push(entries.map((entry) => entry.id));
    entries.forEach((entry) => this.occurrences.set(entry.id, entry.occurrences));
    return [];
  }

  async chainFromOutbox(limit: number): Promise<number> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const taken = this.outbox.splice(0, limit);
    if (taken.length > 0) this.batches.push(taken);
    return taken.length;
  }

  get written(): string[] {
    return this.batches.flat();
  }
}

let n = 0;
const entry = (): AuditEntry => ({
  id: `record-${(n += 1)}`,
  tenantId: null,
  occurredAt: new Date(),
  actor: 'anonymous',
  action: 'research.read',
  resourceType: 'research',
  resourceId: null,
  outcome: AuditOutcome.Success,
  statusCode: 200,
  requestId: null,
  clientIp: null,
  userAgent: null,
  occurrences: 1,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('AuditWriter', () => {
  let repository: FakeRepository;
  let dropped: string[];

  function writer(env: Record<string, string> = {}): AuditWriter {
    const config = loadConfig({ AUDIT_FLUSH_MS: '30', AUDIT_BATCH_SIZE: '3', AUDIT_MAX_BUFFERED: '100', ...env });
    return new AuditWriter(repository as unknown as AuditRepository, config);
  }

  beforeEach(() => {
    repository = new FakeRepository();
    dropped = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      dropped.push((message as { audit_record: AuditEntry }).audit_record.id);
    });
  });

  afterEach(() => jest.restoreAllMocks());

  it('writes records together, within the flush delay rather than one by one', async () => {
    const audit = writer({ AUDIT_FLUSH_MS: '200' });
    const entries = [entry(), entry()];
    entries.forEach((e) => audit.add(e));
    await sleep(5);
    expect(repository.batches).toEqual([]);
    await waitFor('the batch written', () => repository.written.length === 2, 2000, 5);
    expect(repository.batches).toEqual([entries.map((e) => e.id)]);
  });

  it('writes as soon as a batch is full, never more than a batch at a time', async () => {
    const audit = writer({ AUDIT_FLUSH_MS: '5000' });
    const entries = Array.from({ length: 7 }, entry);
    const added = Date.now();
    entries.forEach((e) => audit.add(e));
    // Long before the 5 s flush delay: a full batch goes at once, and the rest follows it.
    await waitFor('every record written', () => repository.written.length === 7, 2000, 5);
    expect(Date.now() - added).toBeLessThan(2000);
    expect(repository.batches.map((batch) => batch.length)).toEqual([3, 3, 1]);
    expect(repository.written).toEqual(entries.map((e) => e.id));
  });

  it('keeps records in memory while PostgreSQL is down and writes them, in order, once it is back', async () => {
    const audit = writer();
    repository.down = true;
    const entries = Array.from({ length: 5 }, entry);
    entries.forEach((e) => audit.add(e));
    await sleep(150);
    expect(repository.written).toEqual([]);
    expect(audit.pending).toBe(5);
    repository.down = false;
    await waitFor('the records written once PostgreSQL is back', () => repository.written.length === 5, 5000, 5);
    expect(repository.written).toEqual(entries.map((e) => e.id));
    expect(audit.pending).toBe(0);
    expect(dropped).toEqual([]);
  });

  it('logs, whole, each record beyond its bound while PostgreSQL is down', async () => {
    const audit = writer({ AUDIT_FLUSH_MS: '5000' });
    repository.down = true;
    const entries = Array.from({ length: 103 }, entry);
    entries.forEach((e) => audit.add(e));
    expect(audit.pending).toBe(100);
    expect(dropped).toEqual(entries.slice(100).map((e) => e.id));
    repository.down = false;
    await audit.flush();
    expect(repository.written).toEqual(entries.slice(0, 100).map((e) => e.id));
  });

  it('drops only the record PostgreSQL refuses for good, and writes the others', async () => {
    const audit = writer();
    const entries = [entry(), entry(), entry()];
    repository.refused.add(entries[1]!.id);
    entries.forEach((e) => audit.add(e));
    await audit.flush();
    expect(repository.written).toEqual([entries[0]!.id, entries[2]!.id]);
    expect(dropped).toEqual([entries[1]!.id]);
  });

  it('chains the records that committed changes left in the outbox, a batch at a time, within the flush delay', async () => {
    const audit = writer({ AUDIT_FLUSH_MS: '200' });
    repository.outbox.push('change-1', 'change-2', 'change-3', 'change-4');
    audit.chainOutboxSoon();
    await sleep(5);
    expect(repository.batches).toEqual([]);
    await waitFor('the outbox chained', () => repository.written.length === 4, 2000, 5);
    expect(repository.batches).toEqual([['change-1', 'change-2', 'change-3'], ['change-4']]);
  });

  it('sweeps the outbox every few seconds for records that a stopped process left there', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      const audit = writer();
      audit.onModuleInit();
      await jest.advanceTimersByTimeAsync(100);
      repository.outbox.push('left-behind');
      await jest.advanceTimersByTimeAsync(OUTBOX_SWEEP_MS - 200);
      expect(repository.written).toEqual([]);
      await jest.advanceTimersByTimeAsync(300);
      expect(repository.written).toEqual(['left-behind']);
      await audit.onApplicationShutdown();
    } finally {
      jest.useRealTimers();
    }
  });

  it('leaves the outbox as it is while PostgreSQL is down, and chains it once it is back', async () => {
    const audit = writer();
    repository.down = true;
    repository.outbox.push('change-1');
    audit.chainOutboxSoon();
    audit.add(entry());
    await sleep(150);
    expect(repository.outbox).toEqual(['change-1']);
    repository.down = false;
    await waitFor(
      'the outbox and the read written once PostgreSQL is back',
      () => repository.written.length >= 2,
      5000,
      5,
    );
    expect(repository.written[0]).toBe('change-1');
    expect(repository.written).toHaveLength(2);
  });

  it('writes repeated refusals of one caller as a first record and one that counts the rest, also at shutdown', async () => {
    const audit = writer({ AUDIT_DENIED_WINDOW_MS: '60000' });
    const refusals = Array.from({ length: 20 }, () => ({ ...entry(), outcome: AuditOutcome.Denied, statusCode: 401 }));
    refusals.forEach((e) => audit.add(e));
    const read = entry();
    audit.add(read);
    await waitFor('the first refusal and the read written', () => repository.written.length >= 2, 2000, 5);
    expect(repository.written).toEqual([refusals[0]!.id, read.id]);
    await audit.onApplicationShutdown();
    expect(repository.written).toEqual([refusals[0]!.id, read.id, refusals[1]!.id]);
    expect(repository.occurrences.get(refusals[1]!.id)).toBe(19);
  });

  it('writes what is left when the app shuts down, and logs what it could not write in time', async () => {
    const audit = writer({ AUDIT_FLUSH_MS: '5000', SHUTDOWN_TIMEOUT_MS: '1000' });
    const first = [entry(), entry()];
    first.forEach((e) => audit.add(e));
    repository.outbox.push('change-1');
    await audit.onApplicationShutdown();
    expect(repository.written).toEqual(['change-1', ...first.map((e) => e.id)]);

    const second = [entry()];
    second.forEach((e) => audit.add(e));
    repository.down = true;
    const started = Date.now();
    await audit.onApplicationShutdown();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(dropped).toEqual(second.map((e) => e.id));
  });
});

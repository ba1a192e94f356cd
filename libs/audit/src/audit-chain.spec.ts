import { AuditOutcome } from './audit-action';
import {
  ChainHead,
  ChainVerifier,
  EMPTY_CHAIN,
  GENESIS_HASH,
  canonicalContent,
  chainAfter,
  hashOf,
} from './audit-chain';
import { AuditEntry, AuditRecord } from './audit-record';

const entry = (n: number, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  tenantId: '11111111-1111-4111-8111-111111111111',
  occurredAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, n)),
  actor: 'key:22222222-2222-4222-8222-222222222222',
  action: 'research.read',
  resourceType: 'research',
  resourceId: '33333333-3333-4333-8333-333333333333',
  outcome: AuditOutcome.Success,
  statusCode: 200,
  requestId: `request-${n}`,
  clientIp: '203.0.113.7',
  userAgent: 'curl/8.0',
  occurrences: 1,
  ...overrides,
});

function verify(records: AuditRecord[], head: ChainHead | null) {
  const verifier = new ChainVerifier();
  for (const record of records) if (!verifier.check(record)) break;
  return verifier.finish(head);
}

describe('the audit hash chain', () => {
  const chain = chainAfter(
    EMPTY_CHAIN,
    [1, 2, 3, 4, 5].map((n) => entry(n)),
  );
  const head = { lastSeq: 5, lastHash: chain[4]!.hash };

  it('hashes a fixed list of fields in a fixed order, times in ISO with milliseconds', () => {
    const record = chain[0]!;
    expect(canonicalContent(record)).toBe(
      JSON.stringify([
        '00000000-0000-4000-8000-000000000001',
        '11111111-1111-4111-8111-111111111111',
        1,
        '2026-01-02T03:04:05.001Z',
        'key:22222222-2222-4222-8222-222222222222',
        'research.read',
        'research',
        '33333333-3333-4333-8333-333333333333',
        'success',
        200,
        'request-1',
        '203.0.113.7',
        'curl/8.0',
        1,
        GENESIS_HASH,
      ]),
    );
    expect(record.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(record.hash).toBe(hashOf(record));
  });

  it('numbers records from the head and links each to the hash of the one before', () => {
    expect(chain.map((record) => record.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(chain[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < chain.length; i += 1) expect(chain[i]!.prevHash).toBe(chain[i - 1]!.hash);
    const more = chainAfter(head, [entry(6)]);
    expect(more[0]).toMatchObject({ seq: 6, prevHash: head.lastHash });
  });

  it('holds when nothing was touched', () => {
    expect(verify(chain, head)).toEqual({
      valid: true,
      checked: 5,
      firstBrokenId: null,
      firstBrokenSeq: null,
      problem: null,
    });
    expect(verify([], null)).toMatchObject({ valid: true, checked: 0 });
  });

  it('names an edited record', () => {
    const edited = chain.map((record, i) => (i === 2 ? { ...record, actor: 'anonymous' } : record));
    expect(verify(edited, head)).toMatchObject({
      valid: false,
      checked: 3,
      firstBrokenId: chain[2]!.id,
      firstBrokenSeq: 3,
      problem: 'content_changed',
    });
  });

  it('names the record after one that was rewritten with a new hash', () => {
    const rewritten = { ...chain[1]!, outcome: AuditOutcome.Denied };
    rewritten.hash = hashOf(rewritten);
    const records = chain.map((record, i) => (i === 1 ? rewritten : record));
    expect(verify(records, head)).toMatchObject({ firstBrokenId: chain[2]!.id, problem: 'link_broken' });
  });

  it('names the record after one that was removed', () => {
    const removed = chain.filter((_, i) => i !== 1);
    expect(verify(removed, head)).toMatchObject({
      valid: false,
      firstBrokenId: chain[2]!.id,
      firstBrokenSeq: 2,
      problem: 'sequence_broken',
    });
  });

  it('names the first of two records that swapped places', () => {
    const swapped = [chain[0]!, { ...chain[2]!, seq: 2 }, { ...chain[1]!, seq: 3 }, chain[3]!, chain[4]!];
    expect(verify(swapped, head)).toMatchObject({ valid: false, firstBrokenId: chain[2]!.id, firstBrokenSeq: 2 });
  });

  it('sees a removed tail by the chain head', () => {
    expect(verify(chain.slice(0, 3), head)).toMatchObject({
      valid: false,
      checked: 3,
      firstBrokenId: null,
      firstBrokenSeq: 4,
      problem: 'records_missing_at_end',
    });
  });

  it('sees a last record rewritten whole by the chain head', () => {
    const last = { ...chain[4]!, resourceId: null };
    last.hash = hashOf(last);
    expect(verify([...chain.slice(0, 4), last], head)).toMatchObject({
      valid: false,
      firstBrokenId: chain[4]!.id,
      problem: 'content_changed',
    });
  });

  it('sees records whose chain head is gone', () => {
    expect(verify(chain, null)).toMatchObject({ valid: false, problem: 'head_missing' });
  });
});

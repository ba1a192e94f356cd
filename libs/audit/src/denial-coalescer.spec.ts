import { AuditOutcome } from './audit-action';
import { AuditEntry } from './audit-record';
import { DenialCoalescer } from './denial-coalescer';

let n = 0;
const refusal = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  id: `record-${(n += 1)}`,
  tenantId: null,
  occurredAt: new Date(),
  actor: 'anonymous',
  action: 'research.list',
  resourceType: 'research',
  resourceId: null,
  outcome: AuditOutcome.Denied,
  statusCode: 401,
  requestId: `request-${n}`,
  clientIp: '198.51.100.7',
  userAgent: `agent ${n}`,
  occurrences: 1,
  ...overrides,
});

describe('DenialCoalescer', () => {
  it('records the first refusal at once and one record for the rest of the window, which counts them', () => {
    const coalescer = new DenialCoalescer(1000);
    const refusals = Array.from({ length: 50 }, () => refusal());
    const written = refusals.flatMap((entry) => coalescer.offer(entry, 0));
    expect(written).toEqual([refusals[0]]);
    expect(coalescer.drain(999)).toEqual([]);
    expect(coalescer.drain(1000)).toEqual([{ ...refusals[1], occurrences: 49 }]);
    expect(coalescer.tracked).toBe(0);
  });

  it('keeps callers, actions and statuses apart, whatever their request ids, resources and user agents', () => {
    const coalescer = new DenialCoalescer(1000);
    const others = [
      refusal({ clientIp: '198.51.100.8' }),
      refusal({ action: 'document.create', resourceType: 'document' }),
      refusal({ statusCode: 429 }),
      refusal({ tenantId: '00000000-0000-0000-0000-000000000001', actor: 'key:k' }),
    ];
    expect(coalescer.offer(refusal(), 0)).toHaveLength(1);
    for (const entry of others) expect(coalescer.offer(entry, 0)).toEqual([entry]);
    // Another resource and user agent: the same caller doing the same thing.
    expect(coalescer.offer(refusal({ resourceId: 'x', userAgent: 'other' }), 0)).toEqual([]);
  });

  it('closes a window when its caller comes back after it, writing its aggregate before the new first record', () => {
    const coalescer = new DenialCoalescer(1000);
    const [first, second, third, later] = [refusal(), refusal(), refusal(), refusal()];
    coalescer.offer(first, 0);
    coalescer.offer(second, 10);
    coalescer.offer(third, 20);
    expect(coalescer.offer(later, 1500)).toEqual([{ ...second, occurrences: 2 }, later]);
  });

  it('writes every open window at shutdown, and nothing for a window with no repeat', () => {
    const coalescer = new DenialCoalescer(60_000);
    const [lone, first, repeat] = [refusal({ clientIp: '203.0.113.1' }), refusal(), refusal()];
    coalescer.offer(lone, 0);
    coalescer.offer(first, 0);
    coalescer.offer(repeat, 0);
    expect(coalescer.drain(1, true)).toEqual([{ ...repeat, occurrences: 1 }]);
  });

  it('records one by one beyond the callers it can follow', () => {
    const coalescer = new DenialCoalescer(1000, 2);
    coalescer.offer(refusal({ clientIp: '203.0.113.1' }), 0);
    coalescer.offer(refusal({ clientIp: '203.0.113.2' }), 0);
    const beyond = [refusal({ clientIp: '203.0.113.3' }), refusal({ clientIp: '203.0.113.3' })];
    expect(beyond.flatMap((entry) => coalescer.offer(entry, 0))).toEqual(beyond);
  });
});

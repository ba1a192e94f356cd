import { AuditEntry } from './audit-record';

interface Window {
  endsAt: number;
  /** The first refusal after the one recorded on its own: the aggregate record is made of it. */
  first?: AuditEntry;
  count: number;
}

/**
 * Keeps repeated refusals of one caller from writing a record each: a client without a valid key
 * could otherwise grow the audit table as fast as it can send requests. Refusals are alike when
 * they share the tenant, actor, client IP, action, resource type and status. The first of a
 * window is recorded on its own, at once; those that follow within the window are counted, and
 * when it is over one record stands for all of them (`occurrences`), with the id, time, request
 * id, resource and user agent of the first of them. So a caller leaves at most two records per
 * kind of refusal and window, and every refusal is accounted for.
 *
 * At most `maxTracked` callers are followed at once; refusals beyond are recorded one by one.
 */
export class DenialCoalescer {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly windowMs: number,
    private readonly maxTracked = 10_000,
  ) {}

  /** Callers followed now. */
  get tracked(): number {
    return this.windows.size;
  }

  /** The records to write for this refusal: itself, nothing (it is counted), or a closed window's aggregate and itself. */
  offer(entry: AuditEntry, now = Date.now()): AuditEntry[] {
    const key = keyOf(entry);
    const window = this.windows.get(key);
    if (window && window.endsAt > now) {
      window.first ??= entry;
      window.count += 1;
      return [];
    }
    const records: AuditEntry[] = [];
    if (window) {
      this.windows.delete(key);
      const aggregate = aggregateOf(window);
      if (aggregate) records.push(aggregate);
    }
    if (this.windows.size < this.maxTracked) this.windows.set(key, { endsAt: now + this.windowMs, count: 0 });
    records.push(entry);
    return records;
  }

  /** The aggregates of the windows that are over, or of every window (at shutdown). */
  drain(now = Date.now(), all = false): AuditEntry[] {
    const records: AuditEntry[] = [];
    for (const [key, window] of this.windows) {
      if (!all && window.endsAt > now) continue;
      this.windows.delete(key);
      const aggregate = aggregateOf(window);
      if (aggregate) records.push(aggregate);
    }
    return records;
  }
}

function keyOf(entry: AuditEntry): string {
  return JSON.stringify([
    entry.tenantId,
    entry.actor,
    entry.clientIp,
    entry.action,
    entry.resourceType,
    entry.statusCode,
  ]);
}

function aggregateOf(window: Window): AuditEntry | undefined {
  return window.first && window.count > 0 ? { ...window.first, occurrences: window.count } : undefined;
}

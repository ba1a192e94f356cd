import { EarliestTimer, isUnavailableError, sleep } from '@app/common';
import { AppConfig, AuditSettings } from '@app/config';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AuditOutcome } from './audit-action';
import { AuditEntry } from './audit-record';
import { DenialCoalescer } from './denial-coalescer';
import { AuditRepository } from './persistence/audit.repository';

/** Longest wait between two tries while PostgreSQL does not take the records. */
const MAX_RETRY_DELAY_MS = 5000;
/** Longest the shutdown spends writing what is left. */
const MAX_SHUTDOWN_FLUSH_MS = 5000;
/**
 * How often the outbox is looked at even when this process committed nothing to it: it may hold
 * records of a process that stopped before it chained them.
 */
export const OUTBOX_SWEEP_MS = 5000;

/**
 * Writes audit records into their chains in batches, off the request's path: reads, failures and
 * refusals, which have no transaction of their own to join, and the records of changes, which
 * their transactions left in the outbox. A record waits at most `AUDIT_FLUSH_MS`, or less once a
 * batch is full; the outbox is also swept every few seconds, for records that a process which
 * stopped left there. While PostgreSQL does not take them, records stay in memory (up to
 * `AUDIT_MAX_BUFFERED`) and the writer tries again with a growing delay; records beyond the bound
 * are written to the log, whole, as dropped. What is left is written when the app shuts down,
 * after its HTTP server has stopped.
 */
@Injectable()
export class AuditWriter implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('AuditWriter');
  private readonly settings: AuditSettings;
  private readonly shutdownFlushMs: number;
  private buffer: AuditEntry[] = [];
  private readonly timer = new EarliestTimer(() => void this.runFlush());
  private flushing: Promise<void> | undefined;
  /** Whether the outbox may hold records: set by commits here and by the sweep. */
  private outboxDue = true;
  private sweep: NodeJS.Timeout | undefined;
  private readonly denials: DenialCoalescer | undefined;
  private failures = 0;
  private lastWarning = 0;

  constructor(
    private readonly repository: AuditRepository,
    config: AppConfig,
  ) {
    this.settings = config.audit;
    this.denials = this.settings.deniedWindowMs > 0 ? new DenialCoalescer(this.settings.deniedWindowMs) : undefined;
    this.shutdownFlushMs = Math.min(MAX_SHUTDOWN_FLUSH_MS, config.shutdownTimeoutMs / 4);
  }

  /** Records waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  onModuleInit(): void {
    const every = Math.min(OUTBOX_SWEEP_MS, this.settings.deniedWindowMs || OUTBOX_SWEEP_MS);
    this.sweep = setInterval(() => {
      for (const aggregate of this.denials?.drain() ?? []) this.buffered(aggregate);
      this.chainOutboxSoon(0);
    }, every);
    this.sweep.unref();
  }

  /** A change's record was committed to the outbox: it is chained with the next batch. */
  chainOutboxSoon(delayMs = this.settings.flushMs): void {
    this.outboxDue = true;
    this.schedule(delayMs);
  }

  add(entry: AuditEntry): void {
    if (this.denials && entry.outcome === AuditOutcome.Denied) {
      for (const record of this.denials.offer(entry)) this.buffered(record);
    } else {
      this.buffered(entry);
    }
  }

  private buffered(entry: AuditEntry): void {
    if (this.buffer.length >= this.settings.maxBuffered) {
      this.drop([entry], `${this.buffer.length} records already wait to be written`);
      return;
    }
    this.buffer.push(entry);
    this.schedule(this.buffer.length >= this.settings.batchSize ? 0 : this.settings.flushMs);
  }

  /** Writes everything buffered now; resolves once the buffer is empty or a write failed. */
  async flush(): Promise<void> {
    this.timer.cancel();
    while (this.flushing) await this.flushing;
    await this.runFlush();
  }

  async onApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + this.shutdownFlushMs;
    clearInterval(this.sweep);
    for (const aggregate of this.denials?.drain(Date.now(), true) ?? []) this.buffered(aggregate);
    this.timer.cancel();
    while (this.flushing) await this.flushing;
    this.outboxDue = true;
    while (this.hasWork() && Date.now() < deadline) {
      await this.writeAll();
      if (this.buffer.length > 0) await sleep(Math.min(this.retryDelay(), Math.max(0, deadline - Date.now())));
    }
    this.timer.cancel();
    if (this.outboxDue) this.warn('records left in the outbox: the next api to start chains them');
    if (this.buffer.length > 0) {
      this.drop(this.buffer, 'PostgreSQL did not take them before the shutdown');
      this.buffer = [];
    }
  }

  private schedule(delayMs: number): void {
    if (this.flushing) return;
    // A full batch goes out at once, unless the writer is waiting for PostgreSQL to come back.
    if (this.failures > 0 && this.timer.pending) return;
    this.timer.within(delayMs);
  }

  private runFlush(): Promise<void> {
    this.flushing ??= this.writeAll().finally(() => {
      this.flushing = undefined;
      if (!this.hasWork()) return;
      if (this.failures > 0) this.schedule(this.retryDelay());
      else this.schedule(this.buffer.length >= this.settings.batchSize ? 0 : this.settings.flushMs);
    });
    return this.flushing;
  }

  private hasWork(): boolean {
    return this.outboxDue || this.buffer.length > 0;
  }

  /** Writes batches until the outbox and the buffer are empty, or PostgreSQL is unavailable. */
  private async writeAll(): Promise<void> {
    if (!(await this.chainOutbox())) return;
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.settings.batchSize);
      try {
        await this.repository.append(batch);
        this.buffer.splice(0, batch.length);
        this.recovered();
      } catch (error) {
        if (isUnavailableError(error)) {
          this.failures += 1;
          this.warn(`audit records not written (${(error as Error).message}); ${this.buffer.length} wait in memory`);
          return;
        }
        // Not a passing outage: find the records PostgreSQL refuses, and keep the others.
        if (!(await this.writeOneByOne(batch))) return;
      }
    }
  }

  /** Chains what the outbox holds; false when PostgreSQL is unavailable. */
  private async chainOutbox(): Promise<boolean> {
    while (this.outboxDue) {
      // Cleared first: a commit while this batch is written asks for another one.
      this.outboxDue = false;
      try {
        if ((await this.repository.chainFromOutbox(this.settings.batchSize)) === this.settings.batchSize) {
          this.outboxDue = true;
        }
        this.recovered();
      } catch (error) {
        if (isUnavailableError(error)) {
          this.failures += 1;
          this.outboxDue = true;
          this.warn(`audit records not chained (${(error as Error).message}); they wait in the outbox`);
          return false;
        }
        // They stay in the outbox, and the next sweep tries again.
        this.logger.error({ err: error }, 'audit records could not be moved from the outbox');
        return true;
      }
    }
    return true;
  }

  /** False when PostgreSQL became unavailable meanwhile; the records not written yet stay first. */
  private async writeOneByOne(batch: AuditEntry[]): Promise<boolean> {
    for (const entry of batch) {
      try {
        await this.repository.append([entry]);
      } catch (error) {
        if (isUnavailableError(error)) {
          this.failures += 1;
          return false;
        }
        this.drop([entry], `PostgreSQL refused it: ${(error as Error).message}`);
      }
      this.buffer.splice(this.buffer.indexOf(entry), 1);
    }
    return true;
  }

  private recovered(): void {
    if (this.failures > 0) this.logger.log({ failures: this.failures }, 'audit records written again');
    this.failures = 0;
  }

  private retryDelay(): number {
    return Math.min(MAX_RETRY_DELAY_MS, this.settings.flushMs * 2 ** Math.min(this.failures, 10));
  }

  private drop(entries: readonly AuditEntry[], reason: string): void {
    for (const entry of entries) {
      this.logger.error({ audit_record: entry, reason }, 'audit record dropped');
    }
  }

  /** At most one line every 10 s: an outage must not flood the log. */
  private warn(message: string): void {
    if (Date.now() - this.lastWarning < 10_000) return;
    this.lastWarning = Date.now();
    this.logger.warn(message);
  }
}

import { ValidationError } from '@app/common';
import { AppConfig } from '@app/config';
import { Metric } from '@app/observability';
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge } from 'prom-client';
import { ResearchEventType } from '../research-event-type';
import { isTerminal } from '../research-status';
import { ResearchRepository } from '../persistence/research.repository';
import { ResearchEventNotifier } from './research-event-notifier';

/** After these a research has nothing more to say until someone retries it. */
const TERMINAL_EVENTS: ReadonlySet<string> = new Set([
  ResearchEventType.Completed,
  ResearchEventType.Failed,
  ResearchEventType.Cancelled,
]);
const MAX_LAST_EVENT_ID = 2_147_483_647;

export interface StreamedEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** What a stream sends next: an event, or a sign of life after `EVENTS_KEEP_ALIVE_MS` of silence. */
export type StreamItem = { event: StreamedEvent } | { keepAlive: true };

/**
 * The events of a research as they happen, for Server-Sent Events: everything after the last
 * event the client has, then each new one when PostgreSQL announces it, until the research ends.
 * Streams share this process's one listening connection and read events with pooled ones.
 */
@Injectable()
export class ResearchEventsService implements OnModuleDestroy {
  private readonly open = new Set<AbortController>();

  constructor(
    private readonly repository: ResearchRepository,
    private readonly notifier: ResearchEventNotifier,
    private readonly config: AppConfig,
    @InjectMetric(Metric.EventStreams) private readonly streams: Gauge<string>,
    @InjectMetric(Metric.EventsSent) private readonly sent: Counter<string>,
  ) {}

  /** The sequence number a client has: `Last-Event-ID`, or its query parameter; 0 when none. */
  lastEventId(value: unknown, field: string): number {
    if (value === undefined || value === '') return 0;
    // A repeated query parameter arrives as an array: one id is all a client can have.
    const text = typeof value === 'string' ? value.trim() : '';
    const seq = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(seq) || seq > MAX_LAST_EVENT_ID) {
      const message = `${field} must be the id of an event of this research: a whole number`;
      throw new ValidationError(message, [{ field, message }]);
    }
    return seq;
  }

  /**
   * The research's events after `afterSeq`, then new ones as they come, ending after a terminal
   * event (or at once when the research has already ended and nothing is left to send), when
   * `signal` aborts, or when this process shuts down. The caller has checked the research exists.
   */
  async *follow(
    tenantId: string,
    researchId: string,
    afterSeq: number,
    signal: AbortSignal,
  ): AsyncGenerator<StreamItem> {
    const keepAliveMs = this.config.eventsKeepAliveMs;
    const own = new AbortController();
    const aborted = AbortSignal.any([signal, own.signal]);
    this.open.add(own);
    this.streams.inc();
    let woken = true;
    let wake: (() => void) | null = null;
    const stop = await this.notifier.listen(researchId, () => {
      woken = true;
      wake?.();
    });
    try {
      let seq = afterSeq;
      let first = true;
      while (!aborted.aborted) {
        if (woken) {
          woken = false;
          const events = await this.repository.listEvents(tenantId, researchId, seq);
          for (const event of events) {
            seq = event.seq;
            this.sent.inc();
            yield { event: { seq: event.seq, type: event.type, data: event.data, createdAt: event.createdAt } };
            if (TERMINAL_EVENTS.has(event.type)) return;
          }
          if (first && events.length === 0) {
            // Connected after the end, with every event already received: nothing will come.
            const research = await this.repository.findView(tenantId, researchId);
            if (!research || isTerminal(research.status)) return;
          }
          first = false;
          continue;
        }
        const idle = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => done(true), keepAliveMs);
          const onAbort = () => done(false);
          const done = (isIdle: boolean) => {
            clearTimeout(timer);
            aborted.removeEventListener('abort', onAbort);
            wake = null;
            resolve(isIdle);
          };
          wake = () => done(false);
          aborted.addEventListener('abort', onAbort, { once: true });
          if (woken || aborted.aborted) done(false);
        });
        if (idle) yield { keepAlive: true };
      }
    } finally {
      stop();
      this.open.delete(own);
      this.streams.dec();
    }
  }

  /** Ends every stream, so the HTTP server can close. */
  onModuleDestroy(): void {
    for (const stream of this.open) stream.abort();
  }
}

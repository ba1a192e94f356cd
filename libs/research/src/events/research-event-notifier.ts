import { AppConfig } from '@app/config';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';

/** The channel the `research_events` trigger announces every committed event on. */
const CHANNEL = 'research_events';
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

type Listener = () => void;

/**
 * Tells the streams of this process when a research has new events: one PostgreSQL connection
 * per process LISTENs on `research_events` (filled by a trigger on every insert, whichever process
 * wrote it), and wakes the listeners of that research. No stream holds a connection or polls.
 *
 * The connection opens with the first listener. When it breaks, every listener is woken (it may
 * have missed a notification and reads what is new itself) and it reconnects with backoff.
 */
@Injectable()
export class ResearchEventNotifier implements OnModuleDestroy {
  private readonly logger = new Logger('ResearchEventNotifier');
  private readonly listeners = new Map<string, Set<Listener>>();
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private retryMs = RECONNECT_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly config: AppConfig) {}

  /**
   * Calls `listener` whenever research `researchId` may have new events, until the returned
   * function is called. Resolves once notifications are being received, so that a read made
   * after it misses nothing.
   */
  async listen(researchId: string, listener: Listener): Promise<() => void> {
    let set = this.listeners.get(researchId);
    if (!set) {
      set = new Set();
      this.listeners.set(researchId, set);
    }
    set.add(listener);
    const stop = () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(researchId) === set) this.listeners.delete(researchId);
    };
    try {
      await this.connect();
    } catch (error) {
      // The stream still works: it is woken when the connection comes back.
      this.logger.warn({ error: (error as Error).message }, 'cannot listen for research events yet');
    }
    return stop;
  }

  onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    return client ? client.end().catch(() => undefined) : Promise.resolve();
  }

  private connect(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= this.open().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async open(): Promise<void> {
    const client = new Client({ connectionString: this.config.databaseUrl, application_name: 'research-events' });
    client.on('notification', (message) => {
      const researchId = message.payload?.split(':', 1)[0];
      if (researchId) this.wake(researchId);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      this.scheduleReconnect();
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = RECONNECT_MIN_MS;
  }

  private lost(client: Client, error: Error): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.logger.warn({ error: error.message }, 'lost the research events connection; reconnecting');
    // A notification may have been missed: every stream reads what is new for itself.
    for (const researchId of this.listeners.keys()) this.wake(researchId);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer || this.listeners.size === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().then(
        () => {
          for (const researchId of this.listeners.keys()) this.wake(researchId);
        },
        () => undefined,
      );
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }

  private wake(researchId: string): void {
    for (const listener of this.listeners.get(researchId) ?? []) listener();
  }
}

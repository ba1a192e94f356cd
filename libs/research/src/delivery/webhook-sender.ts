import { performance } from 'node:perf_hooks';
import { BlockedAddressError, OutboundGuard, undici } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import type { Agent } from 'undici';

/** How one attempt ended: `delivered` (a 2xx), or why not. A value of the attempts metric's `outcome` label. */
export type AttemptOutcome = 'delivered' | 'http_status' | 'timeout' | 'network' | 'blocked_address' | 'bad_url';

export interface AttemptResult {
  outcome: AttemptOutcome;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

/** What a receiver may answer with; the rest is not read. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs a webhook through the outbound guard (`WEBHOOK_ALLOWED_HOSTS`): no private, loopback or
 * metadata address, checked on the addresses the connection uses. Redirects are not followed: a
 * 3xx is a failed attempt, so a receiver cannot send the signed body elsewhere.
 */
@Injectable()
export class WebhookSender implements OnModuleDestroy {
  readonly guard: OutboundGuard;
  /** Made on the first send (see `undici`): the api checks callback URLs but sends nothing. */
  private agent?: Agent;

  constructor(private readonly config: AppConfig) {
    this.guard = new OutboundGuard(config.webhooks.allowedHosts);
  }

  private get dispatcher(): Agent {
    return (this.agent ??= new (undici().Agent)({
      connect: { timeout: this.config.webhooks.timeoutMs, lookup: this.guard.lookup },
      headersTimeout: this.config.webhooks.timeoutMs,
      bodyTimeout: this.config.webhooks.timeoutMs,
    }));
  }

  async send(url: string, body: string, headers: Record<string, string>): Promise<AttemptResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const target = this.guard.check(url);
    if (!(target instanceof URL))
      return { outcome: target.reason, statusCode: null, durationMs: 0, error: target.message };
    const signal = AbortSignal.timeout(this.config.webhooks.timeoutMs);
    try {
      const response = await undici().request(target, {
        method: 'POST',
        dispatcher: this.dispatcher,
        headers: { 'content-type': 'application/json', 'user-agent': this.config.fetch.userAgent, ...headers },
        body,
        signal,
      });
      await drain(response.body);
      const statusCode = response.statusCode;
      if (statusCode >= 200 && statusCode < 300)
        return { outcome: 'delivered', statusCode, durationMs: elapsed(), error: null };
      return {
        outcome: 'http_status',
        statusCode,
        durationMs: elapsed(),
        error: `the receiver answered ${statusCode}`,
      };
    } catch (error) {
      const blocked = causes(error).find((cause) => cause instanceof BlockedAddressError);
      if (blocked)
        return { outcome: 'blocked_address', statusCode: null, durationMs: elapsed(), error: blocked.message };
      const timedOut = signal.aborted || causes(error).some((cause) => /Timeout/.test((cause as Error).name ?? ''));
      return {
        outcome: timedOut ? 'timeout' : 'network',
        statusCode: null,
        durationMs: elapsed(),
        error: timedOut
          ? `no answer within ${this.config.webhooks.timeoutMs} ms (WEBHOOK_TIMEOUT_MS)`
          : describe(error),
      };
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent?.close();
  }
}

async function drain(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<void> {
  let read = 0;
  for await (const chunk of body) {
    read += chunk.length;
    if (read > MAX_RESPONSE_BYTES) {
      body.destroy();
      return;
    }
  }
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error; current && chain.length < 5; current = (current as Error).cause) chain.push(current);
  return chain;
}

function describe(error: unknown): string {
  const chain = causes(error) as Error[];
  const deepest = chain.at(-1) ?? (error as Error);
  const code = (deepest as { code?: string }).code;
  return [deepest?.message || String(error), code && !deepest.message?.includes(code) ? `(${code})` : '']
    .join(' ')
    .trim();
}

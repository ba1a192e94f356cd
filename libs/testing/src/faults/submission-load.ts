import { HttpClient } from '../http-client';
import { sleep, waitFor } from '../wait-for';

export interface SubmissionLoadOptions {
  /** The api (or apis, used in turn) to submit to; read before each request, so it can change. */
  targets: () => HttpClient[];
  /** How many researches to get acknowledged before stopping. */
  count: number;
  /** The question of the nth submission (0-based). */
  question: (n: number) => string;
  /** Pause between two submissions. */
  intervalMs: number;
  /** Clients submitting side by side; 1 by default. */
  clients?: number;
  /** Extra fields of every request body. */
  body?: Record<string, unknown>;
  /** Gives up after this long, so a scenario that failed half-way never leaves it running; 2 min by default. */
  maxMs?: number;
}

/** What one submission got: an HTTP status, or the network error when there was no answer. */
export interface SubmissionAttempt {
  /** The base URL of the api it was sent to. */
  target: string;
  /** When it was sent, in epoch milliseconds. */
  at: number;
  status: number | undefined;
  /** What went wrong when there was no answer. */
  error: string | undefined;
  /** `error.code` of an error answer. */
  code: string | undefined;
}

/**
 * Submits researches one after another in the background, as a client that keeps trying does,
 * and records every answer: the ids acknowledged with 202, and every other status or network
 * error, so a scenario can check the api never answered what it must not.
 */
export class SubmissionLoad {
  readonly acknowledged: string[] = [];
  readonly attempts: SubmissionAttempt[] = [];
  private stopped = false;
  private readonly done: Promise<void>;
  private sent = 0;
  private readonly deadline: number;

  private constructor(private readonly options: SubmissionLoadOptions) {
    this.deadline = Date.now() + (options.maxMs ?? 120_000);
    const clients = Array.from({ length: options.clients ?? 1 }, () => this.run());
    this.done = Promise.all(clients).then(() => undefined);
  }

  static start(options: SubmissionLoadOptions): SubmissionLoad {
    return new SubmissionLoad(options);
  }

  /** How many answers had each status; `network` counts requests that got none. */
  statusCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const attempt of this.attempts) {
      const key = attempt.status === undefined ? 'network' : String(attempt.status);
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** Resolves once at least `n` researches have been acknowledged. */
  waitForAcknowledged(n: number, timeoutMs = 30000): Promise<true> {
    return waitFor(`${n} researches to be acknowledged`, () => this.acknowledged.length >= n, timeoutMs);
  }

  /** Resolves when every submission is acknowledged, `stop()` was called, or `maxMs` ran out. */
  finished(): Promise<void> {
    return this.done;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.acknowledged.length < this.options.count && Date.now() < this.deadline) {
      const n = this.sent;
      this.sent += 1;
      const targets = this.options.targets();
      const target = targets[n % targets.length] as HttpClient;
      const body = { question: this.options.question(n), ...this.options.body };
      const at = Date.now();
      try {
        const response = await target.post('/api/v1/research', body);
        this.attempts.push({
          target: target.baseUrl,
          at,
          status: response.status,
          error: undefined,
          code: response.body?.error?.code,
        });
        if (response.status === 202) this.acknowledged.push((response.body as { research_id: string }).research_id);
      } catch (error) {
        this.attempts.push({ target: target.baseUrl, at, status: undefined, error: describe(error), code: undefined });
        // No answer at all: do not spin on an api that is gone.
        await sleep(50);
      }
      await sleep(this.options.intervalMs);
    }
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

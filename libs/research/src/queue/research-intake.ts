import { Metric } from '@app/observability';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Queue } from 'bull';
import { Gauge } from 'prom-client';
import { RESEARCH_QUEUE, RunResearchJob } from './research-queue';

/** Why this worker takes no new research: it is shutting down, or the LLM endpoint is down. */
export type IntakeHold = 'shutdown' | 'llm_unavailable';

/** How long pausing waits for Redis: the pause matters, but never more than shutting down. */
const PAUSE_TIMEOUT_MS = 2000;

/**
 * Whether this worker takes new research jobs. Each reason to stop is a hold; the worker takes
 * jobs again only when every hold is released. Jobs not taken stay waiting in the queue, with
 * their attempts untouched.
 */
@Injectable()
export class ResearchIntake {
  private readonly logger = new Logger('ResearchIntake');
  private readonly holds = new Set<IntakeHold>();

  constructor(
    @InjectQueue(RESEARCH_QUEUE) private readonly queue: Queue<RunResearchJob>,
    @InjectMetric(Metric.IntakePaused) private readonly paused: Gauge<string>,
  ) {}

  get held(): readonly IntakeHold[] {
    return [...this.holds];
  }

  /** Whether jobs should be run now; a job that arrives while a hold stands is left for later. */
  get open(): boolean {
    return this.holds.size === 0;
  }

  /**
   * Stops taking jobs for this reason; runs in progress go on. The wait for a job already under
   * way is not cut (Bull would drop its connection, racing its own start-up commands): a job it
   * brings while held is not run, and the reconciler queues it again.
   */
  async hold(reason: IntakeHold): Promise<void> {
    const first = this.holds.size === 0;
    if (this.holds.has(reason)) return;
    this.holds.add(reason);
    this.paused.set({ reason }, 1);
    this.logger.warn({ reason }, 'research intake paused');
    if (first) await this.bounded(this.queue.pause(true, false));
  }

  /** Lifts one hold; jobs are taken again once none is left. */
  async release(reason: IntakeHold): Promise<void> {
    if (!this.holds.delete(reason)) return;
    this.paused.set({ reason }, 0);
    if (this.holds.size > 0) return;
    this.logger.log({ reason }, 'research intake resumed');
    await this.bounded(this.queue.resume(true));
  }

  /** Pausing needs Redis, which may be down: the hold stands anyway, and the wait is bounded. */
  private async bounded(work: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      work.catch((error: Error) => this.logger.warn(`research intake: ${error.message}`)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, PAUSE_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}

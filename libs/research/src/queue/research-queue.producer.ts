import { TIMED_OUT, withinMs } from '@app/common';
import { AppConfig } from '@app/config';
import { InjectQueue } from '@nestjs/bull';
import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Queue } from 'bull';
import { RESEARCH_QUEUE, ResearchJobName, ResearchJobState, RunResearchJob } from './research-queue';

/** How long an add waits for Redis before leaving the job to the reconciler. */
const ENQUEUE_TIMEOUT_MS = 2000;

@Injectable()
export class ResearchQueueProducer implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(ResearchQueueProducer.name);
  /** Adds started by `enqueueSoon` and not settled yet. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    @InjectQueue(RESEARCH_QUEUE) private readonly queue: Queue<RunResearchJob>,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // Bull re-emits Redis connection errors on the queue; unhandled, they would crash the process.
    this.queue.on('error', (error) => this.logger.warn(`research queue: ${error.message}`));
  }

  /**
   * Adds the job for a research. The job id is the research id, so adding twice is harmless.
   * Bounded in time: the research is already stored, and the reconciler enqueues it later if
   * Redis is unreachable now.
   */
  async enqueue(job: RunResearchJob, options: { delayMs?: number } = {}): Promise<boolean> {
    const added = this.queue.add(ResearchJobName.Run, job, {
      jobId: job.researchId,
      ...(options.delayMs ? { delay: options.delayMs } : {}),
      attempts: this.config.researchAttempts,
      backoff: { type: 'exponential', delay: this.config.researchBackoffMs },
      removeOnComplete: true,
      removeOnFail: 1000,
    });
    try {
      if ((await withinMs(added, ENQUEUE_TIMEOUT_MS)) === TIMED_OUT) {
        this.logger.warn(`enqueue of research ${job.researchId} timed out; the reconciler will retry`);
        return false;
      }
      return true;
    } catch (error) {
      this.logger.warn(
        `enqueue of research ${job.researchId} failed (${(error as Error).message}); the reconciler will retry`,
      );
      return false;
    }
  }

  /**
   * Adds the job without making the caller wait for Redis: for a research that is already
   * stored, whose job the reconciler adds anyway if this add fails. `settled` hears whether it was
   * added. The process waits for such adds before it closes the queue at shutdown.
   */
  enqueueSoon(job: RunResearchJob, settled: (enqueued: boolean) => void): void {
    const adding = this.enqueue(job).then(settled);
    this.pending.add(adding);
    void adding.finally(() => this.pending.delete(adding));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  async jobState(researchId: string): Promise<ResearchJobState> {
    const job = await this.queue.getJob(researchId);
    if (!job) return 'missing';
    return (await job.getState()) as ResearchJobState;
  }

  /** Removes a job that is not being processed; false if there was none or it is active. */
  async removeIdle(researchId: string): Promise<boolean> {
    const job = await this.queue.getJob(researchId);
    if (!job || (await job.isActive())) return false;
    await job.remove();
    return true;
  }

  /**
   * Takes a named lease in Redis with SET NX PX: true for exactly one caller per `ttlMs`. Used
   * so that one replica at a time runs periodic work; it is never released early, which also
   * spaces runs by at least `ttlMs`.
   */
  async tryLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const key = `${this.config.queuePrefix}:${RESEARCH_QUEUE}:lease:${name}`;
    return (await this.queue.client.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async counts(): Promise<Record<'waiting' | 'active' | 'delayed' | 'failed', number>> {
    const counts = await this.queue.getJobCounts();
    return { waiting: counts.waiting, active: counts.active, delayed: counts.delayed, failed: counts.failed };
  }

  async ping(): Promise<void> {
    await this.queue.client.ping();
  }
}

import { DomainError, ErrorCode, isUnavailableError, sleep, untilAborted } from '@app/common';
import { AppConfig } from '@app/config';
import { Metric, runWithLogContext } from '@app/observability';
import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge, Histogram } from 'prom-client';
import { ResearchEventType } from '../research-event-type';
import { ProgressTracker, QUEUED } from '../research-progress';
import { ResearchFailure } from '../research-result';
import { ResearchRunContext, ResearchRunner, ResearchTask } from '../research-runner';
import { ResearchStatus } from '../research-status';
import { PlanReviewRequiredError, ResearchStoppedError, StopReason } from '../research.errors';
import { ResearchEntity } from '../persistence/research.entity';
import { OVER_TENANT_CAP, ResearchRepository, RunFence } from '../persistence/research.repository';
import { ResearchQueueProducer } from '../queue/research-queue.producer';
import { RunResearchJob } from '../queue/research-queue';
import { ResearchIntake } from '../queue/research-intake';
import { DeliveryService } from '../delivery/delivery.service';

export interface JobAttempt {
  /** 1-based attempt of this queue job. */
  number: number;
  max: number;
  /** Tells the queue not to retry this job after it fails. */
  giveUp(): Promise<void>;
}

const RECORD_FIRST_DELAY_MS = 100;
/** How long a research over its tenant's cap waits before it is tried again. */
const TENANT_CAP_RETRY_MS = 1000;
/** Long enough for Bull to remove the job that ends now, so that its id is free again. */
const JOB_REMOVAL_MS = 300;
const RECORD_MAX_DELAY_MS = 2000;

export type ExecutionOutcome =
  'completed' | 'failed' | 'cancelled' | 'awaiting_review' | 'handed_back' | 'lease_lost' | 'skipped' | 'deferred';

/** A research failed for good: the queue records the job as failed too. */
export class ResearchFailedError extends Error {
  constructor(readonly failure: ResearchFailure) {
    super(failure.message);
    this.name = 'ResearchFailedError';
  }
}

/**
 * Runs one research job: claims the research, keeps its lease alive, runs the bound engine,
 * and writes the outcome. Every write is fenced by the run's token, so a run that lost the
 * research (cancelled, or taken over after its lease expired) can no longer change it.
 */
@Injectable()
export class ResearchExecutionService {
  private readonly logger = new Logger('ResearchExecution');
  private readonly runs = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  /** Set at shutdown: outcomes that cannot be written now are left to the reconciler. */
  private stopping = false;

  constructor(
    private readonly repository: ResearchRepository,
    private readonly runner: ResearchRunner,
    private readonly intake: ResearchIntake,
    private readonly producer: ResearchQueueProducer,
    private readonly deliveries: DeliveryService,
    private readonly config: AppConfig,
    @InjectMetric(Metric.Runs) private readonly runsTotal: Counter<string>,
    @InjectMetric(Metric.RunDuration) private readonly runDuration: Histogram<string>,
    @InjectMetric(Metric.ActiveTasks) private readonly activeTasks: Gauge<string>,
  ) {}

  get activeRuns(): number {
    return this.runs.size;
  }

  /** Runs the job with the research's request id and id on every log line written meanwhile. */
  execute(job: RunResearchJob, attempt: JobAttempt): Promise<ExecutionOutcome> {
    return runWithLogContext({ request_id: job.requestId, research_id: job.researchId }, () =>
      this.measured(() => this.claimAndRun(job, attempt)),
    );
  }

  /** Counts every run by outcome; a run that throws for a retry counts as `retried`. */
  private async measured(run: () => Promise<ExecutionOutcome>): Promise<ExecutionOutcome> {
    const end = this.runDuration.startTimer({ engine: this.runner.engine });
    this.activeTasks.inc();
    let outcome: ExecutionOutcome | 'retried' = 'failed';
    try {
      outcome = await run();
      return outcome;
    } catch (error) {
      outcome = error instanceof ResearchFailedError ? 'failed' : 'retried';
      throw error;
    } finally {
      this.activeTasks.dec();
      end({ outcome });
      this.runsTotal.inc({ engine: this.runner.engine, outcome });
    }
  }

  private async claimAndRun(job: RunResearchJob, attempt: JobAttempt): Promise<ExecutionOutcome> {
    if (!this.intake.open) {
      // Taken by a wait that began before the hold: left pending, for the reconciler to queue again.
      this.logger.log({ holds: this.intake.held }, 'research intake is held; job left for later');
      return 'deferred';
    }
    const research = await this.repository.claim(
      job.tenantId,
      job.researchId,
      this.config.researchLeaseMs,
      this.config.tenantMaxRunning,
    );
    if (research === OVER_TENANT_CAP) {
      this.waitForTenantCap(job);
      return 'deferred';
    }
    if (!research) {
      const state = await this.repository.currentRunState(job.tenantId, job.researchId);
      this.logger.log({ status: state?.status ?? 'missing' }, 'research not claimable; job skipped');
      return 'skipped';
    }
    const fence: RunFence = { tenantId: research.tenantId, researchId: research.id, token: research.attempts };

    // Runs that crashed count; hand-backs and the runs before a retry do not.
    const maxRuns = this.config.researchAttempts * 2;
    if (research.attempts - research.freeRuns > maxRuns) {
      await this.record('abandoned', () =>
        this.repository.fail(fence, {
          code: ErrorCode.RunnerFailed,
          message: `gave up after ${maxRuns} runs: the research kept stopping without a result`,
        }),
      );
      await this.deliveries.dispatch(fence.tenantId, fence.researchId);
      this.logger.error({ attempts: research.attempts }, 'research abandoned');
      return 'failed';
    }

    const controller = new AbortController();
    const done = this.run(research, fence, attempt, controller);
    this.runs.set(research.id, { controller, done });
    try {
      return await done;
    } finally {
      this.runs.delete(research.id);
    }
  }

  /**
   * The tenant runs as many researches as it may: this one stays pending, and its job comes
   * back to the queue a little later, once Bull has removed the one now ending (the reconciler
   * queues it if that add comes too early).
   */
  private waitForTenantCap(job: RunResearchJob): void {
    this.logger.log(
      { tenant_id: job.tenantId, max_running: this.config.tenantMaxRunning },
      'tenant runs as many researches as it may; this one waits in the queue',
    );
    const timer = setTimeout(() => {
      void this.producer.enqueue(job, { delayMs: TENANT_CAP_RETRY_MS });
    }, JOB_REMOVAL_MS);
    timer.unref();
  }

  /** Asks every run in this process to hand its research back, and waits until they have. */
  async handBackAll(): Promise<void> {
    this.stopping = true;
    const runs = [...this.runs.values()];
    for (const run of runs) run.controller.abort(new ResearchStoppedError(StopReason.Shutdown));
    await Promise.allSettled(runs.map((run) => run.done));
  }

  private async run(
    research: ResearchEntity,
    fence: RunFence,
    attempt: JobAttempt,
    controller: AbortController,
  ): Promise<ExecutionOutcome> {
    const started = Date.now();
    const heartbeat = setInterval(
      () => void this.renewLease(fence, controller),
      Math.max(200, Math.floor(this.config.researchLeaseMs / 3)),
    );
    this.logger.log({ attempt: research.attempts }, 'research started');
    try {
      const task: ResearchTask = {
        researchId: research.id,
        tenantId: research.tenantId,
        question: research.question,
        params: research.params,
        requestId: research.requestId,
        attempt: research.attempts,
        startedAt: new Date((research.startedAt ?? research.createdAt).getTime() + research.waitedMs),
      };
      const progress = new ProgressTracker(
        research.progress ?? { ...QUEUED, stage: 'planning', percent: 1 },
        research.params.depth ?? 1,
      );
      const result = await untilAborted(
        this.runner.run(task, this.context(fence, controller, progress)),
        controller.signal,
      );
      if (!(await this.record('completed', () => this.repository.complete(fence, result)))) {
        const state = await this.repository.currentRunState(fence.tenantId, fence.researchId);
        this.logger.warn({ status: state?.status }, 'research finished but was no longer ours; result discarded');
        return state?.status === ResearchStatus.Cancelled ? 'cancelled' : 'lease_lost';
      }
      this.logger.log({ duration: seconds(started) }, 'research completed');
      await this.deliveries.dispatch(fence.tenantId, fence.researchId);
      return 'completed';
    } catch (error) {
      return await this.stopOrFail(research, fence, attempt, error, started);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async stopOrFail(
    research: ResearchEntity,
    fence: RunFence,
    attempt: JobAttempt,
    error: unknown,
    started: number,
  ): Promise<ExecutionOutcome> {
    if (error instanceof PlanReviewRequiredError) return this.awaitReview(fence, error);
    if (error instanceof ResearchStoppedError) {
      if (error.reason === StopReason.Shutdown) {
        await this.record('handed back', () => this.repository.release(fence, ResearchEventType.HandedBack, null));
        this.logger.warn('research handed back for another worker');
        return 'handed_back';
      }
      this.logger.log({ reason: error.reason }, 'research stopped');
      return error.reason === StopReason.Cancelled ? 'cancelled' : 'lease_lost';
    }

    const failure = describeFailure(error);
    if (error instanceof DomainError && error.code === ErrorCode.DependencyUnavailable) {
      // An outage (the LLM endpoint's circuit is open) is not the research's fault: it waits in
      // the queue for the dependency, keeping its steps, without spending an attempt.
      await this.record('handed back', () => this.repository.release(fence, ResearchEventType.HandedBack, failure));
      this.logger.warn({ error: failure }, 'a dependency is unavailable; research handed back to wait for it');
      return 'handed_back';
    }

    const retryable = !(error instanceof DomainError) || error.retryable;
    if (retryable && attempt.number < attempt.max) {
      await this.record('retry scheduled', () =>
        this.repository.release(fence, ResearchEventType.RetryScheduled, failure),
      );
      this.logger.warn(
        { attempt: attempt.number, max_attempts: attempt.max, error: failure },
        'research attempt failed; will retry',
      );
      throw error;
    }
    if (await this.record('failed', () => this.repository.fail(fence, failure))) {
      await this.deliveries.dispatch(fence.tenantId, fence.researchId);
    }
    this.logger.error({ attempt: attempt.number, duration: seconds(started), error: failure }, 'research failed');
    if (!retryable) await attempt.giveUp();
    throw new ResearchFailedError(failure);
  }

  /**
   * The run planned and the research asked for its plan to be reviewed: it waits in
   * `awaiting_review`, with no job and no lease, until the plan comes back or the wait times out.
   */
  private async awaitReview(fence: RunFence, stop: PlanReviewRequiredError): Promise<ExecutionOutcome> {
    if (!(await this.record('awaiting review', () => this.repository.awaitReview(fence, stop.plan, stop.fallback)))) {
      const reason = await this.stopReason(fence);
      this.logger.log({ reason }, 'research stopped');
      return reason === StopReason.Cancelled ? 'cancelled' : 'lease_lost';
    }
    this.logger.log(
      { sub_questions: stop.plan.subQuestions.length, fallback: stop.fallback },
      'research awaiting plan review',
    );
    await this.deliveries.dispatch(fence.tenantId, fence.researchId);
    return 'awaiting_review';
  }

  /**
   * Writes the outcome of a run, again and again while PostgreSQL cannot be reached: the
   * research is released or finished as soon as the database is back, instead of staying
   * `running` until its lease expires. False when the run no longer owns the research. At
   * shutdown it gives up, and the lease and the reconciler take over.
   */
  private async record(outcome: string, write: () => Promise<boolean>): Promise<boolean> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const written = await write();
        if (attempt > 1) this.logger.log({ outcome, attempt }, 'research outcome recorded once the database answered');
        return written;
      } catch (error) {
        if (!isUnavailableError(error) || this.stopping) throw error;
        this.logger.warn(
          { outcome, attempt, error: (error as Error).message },
          'research outcome not recorded: the database is unavailable; trying again',
        );
        await sleep(Math.min(RECORD_MAX_DELAY_MS, RECORD_FIRST_DELAY_MS * 2 ** (attempt - 1)));
      }
    }
  }

  private context(fence: RunFence, controller: AbortController, progress: ProgressTracker): ResearchRunContext {
    let previous: Promise<unknown> = Promise.resolve();
    const stopIfLost = async (): Promise<never> => {
      const reason = await this.stopReason(fence);
      controller.abort(new ResearchStoppedError(reason));
      throw new ResearchStoppedError(reason);
    };
    return {
      signal: controller.signal,
      checkpoint: async () => {
        controller.signal.throwIfAborted();
        const state = await this.repository.currentRunState(fence.tenantId, fence.researchId);
        if (state?.status !== ResearchStatus.Running || state.attempts !== fence.token) await stopIfLost();
      },
      emit: (type, data = {}) => {
        controller.signal.throwIfAborted();
        // Events of parallel stages are stored one after another, in the order their progress was
        // computed, so the stored progress never goes back.
        const now = progress.advance(type, data);
        const appended = previous.then(async () => {
          if (!(await this.repository.appendRunEvent(fence, type, data, now))) await stopIfLost();
        });
        previous = appended.catch(() => undefined);
        return appended;
      },
      loadSteps: () => this.repository.loadSteps(fence.tenantId, fence.researchId),
      saveStep: async (name, data, usage = {}) => {
        controller.signal.throwIfAborted();
        if (!(await this.repository.saveStep(fence, name, data, usage))) await stopIfLost();
      },
      loadSources: () => this.repository.loadSources(fence.tenantId, fence.researchId),
      saveSources: async (sources) => {
        controller.signal.throwIfAborted();
        if (!(await this.repository.saveSources(fence, sources))) await stopIfLost();
      },
    };
  }

  private async renewLease(fence: RunFence, controller: AbortController): Promise<void> {
    if (controller.signal.aborted) return;
    try {
      if (!(await this.repository.renewLease(fence, this.config.researchLeaseMs))) {
        controller.abort(new ResearchStoppedError(await this.stopReason(fence)));
      }
    } catch (error) {
      // A missed renewal is not fatal: the lease outlives several heartbeats.
      this.logger.warn({ err: error }, 'lease renewal failed');
    }
  }

  private async stopReason(fence: RunFence): Promise<StopReason> {
    const state = await this.repository.currentRunState(fence.tenantId, fence.researchId);
    return state?.status === ResearchStatus.Cancelled ? StopReason.Cancelled : StopReason.LeaseLost;
  }
}

function describeFailure(error: unknown): ResearchFailure {
  if (error instanceof DomainError) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: ErrorCode.RunnerFailed, message: message || 'the research engine failed without a message' };
}

function seconds(since: number): number {
  return (Date.now() - since) / 1000;
}

import { appConfig } from '@app/config';
import {
  ExecutionOutcome,
  RESEARCH_QUEUE,
  ResearchExecutionService,
  ResearchJobName,
  RunResearchJob,
} from '@app/research';
import { Process, Processor } from '@nestjs/bull';
import { Job } from 'bull';

/** Unpacks a research job and hands it to the execution service. */
@Processor(RESEARCH_QUEUE)
export class ResearchProcessor {
  constructor(private readonly execution: ResearchExecutionService) {}

  @Process({ name: ResearchJobName.Run, concurrency: appConfig().queueConcurrency })
  run(job: Job<RunResearchJob>): Promise<ExecutionOutcome> {
    return this.execution.execute(job.data, {
      number: job.attemptsMade + 1,
      max: job.opts.attempts ?? 1,
      giveUp: () => job.discard(),
    });
  }
}

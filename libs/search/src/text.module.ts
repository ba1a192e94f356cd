import { Module } from '@nestjs/common';
import { TextProcessor } from './text/text-processor';
import { WorkerPoolTextProcessor } from './text/worker-pool-text-processor';

/** Text work off the event loop: one pool of worker threads per process, however many modules import it. */
@Module({
  providers: [{ provide: TextProcessor, useClass: WorkerPoolTextProcessor }],
  exports: [TextProcessor],
})
export class TextModule {}

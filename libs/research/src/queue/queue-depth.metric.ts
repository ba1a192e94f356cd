import { Metric } from '@app/observability';
import { Logger } from '@nestjs/common';
import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { Gauge } from 'prom-client';
import { ResearchQueueProducer } from './research-queue.producer';

const COUNT_TIMEOUT_MS = 1000;
const logger = new Logger('QueueDepthMetric');

/**
 * `research_queue_jobs{state}`, read from Redis when Prometheus scrapes. If Redis does not
 * answer in time, the scrape still succeeds and the gauge keeps its last values.
 */
export const queueDepthMetric = makeGaugeProvider({
  name: Metric.QueueJobs,
  help: 'Jobs of the research queue by state, read from Redis at scrape time.',
  labelNames: ['state'],
  inject: [ResearchQueueProducer],
  async collect(this: Gauge<string>, producer: ResearchQueueProducer) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const counts = await Promise.race([
        producer.counts(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${COUNT_TIMEOUT_MS} ms`)), COUNT_TIMEOUT_MS);
        }),
      ]);
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    } catch (error) {
      logger.warn(`queue depth not refreshed: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  },
});

import { Metric } from '@app/observability';
import { Logger } from '@nestjs/common';
import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { Gauge } from 'prom-client';
import { ResearchRepository } from '../persistence/research.repository';

const COUNT_TIMEOUT_MS = 1000;
const logger = new Logger('AwaitingReviewMetric');

/**
 * `research_awaiting_review`, counted in PostgreSQL (a partial index) when Prometheus scrapes:
 * the researches of every tenant whose plan waits for its review. If the database does not answer
 * in time, the scrape still succeeds and the gauge keeps its last value.
 */
export const awaitingReviewMetric = makeGaugeProvider({
  name: Metric.AwaitingReview,
  help: 'Researches whose plan waits for review (review_plan), across tenants, counted at scrape time.',
  inject: [ResearchRepository],
  async collect(this: Gauge<string>, repository: ResearchRepository) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const waiting = await Promise.race([
        repository.countAwaitingReviewAcrossTenants(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${COUNT_TIMEOUT_MS} ms`)), COUNT_TIMEOUT_MS);
        }),
      ]);
      this.set(waiting);
    } catch (error) {
      logger.warn(`researches awaiting review not counted: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  },
});

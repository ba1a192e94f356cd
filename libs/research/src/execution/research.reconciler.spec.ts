import { DEFAULT_TENANT_ID } from '@app/common';
import { loadConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { Metric } from '@app/observability';
import { TestConfigModule, TestDatabase } from '@app/testing';
import { Logger } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bull';
import { Test, TestingModule } from '@nestjs/testing';
import { getToken } from '@willsoto/nestjs-prometheus';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ResearchPersistenceModule } from '../research-persistence.module';
import { RunResearchJob } from '../queue/research-queue';
import { ResearchQueueProducer } from '../queue/research-queue.producer';
import { ResearchReconciler } from './research.reconciler';
import { DeliveryRepository } from '../delivery/delivery.repository';
import { DeliveryService } from '../delivery/delivery.service';
import { WebhookDeliverer } from '../delivery/webhook-deliverer';
import { WEBHOOK_QUEUE } from '../delivery/webhook-queue';
import { WebhookSecretRepository } from '../delivery/webhook-secret.repository';
import { WebhookSender } from '../delivery/webhook-sender';

/** Stands in for Bull: no job exists, and the lease is held only once a test asks for it. */
class EmptyQueue {
  leased = false;
  readonly enqueued: string[] = [];

  async tryLease(): Promise<boolean> {
    return this.leased;
  }

  async jobState(): Promise<string> {
    return 'missing';
  }

  async removeIdle(): Promise<boolean> {
    return false;
  }

  async enqueue(job: RunResearchJob): Promise<boolean> {
    this.enqueued.push(job.researchId);
    return true;
  }
}

/** Stands in for Bull's webhook queue: no job exists; the ids of the jobs added are kept. */
class WebhookQueue {
  readonly added: string[] = [];

  on(): void {}

  async add(_name: string, _job: unknown, options: { jobId: string }): Promise<void> {
    this.added.push(options.jobId);
  }

  async getJob(): Promise<null> {
    return null;
  }
}

/** The reconciler against a real database: what it re-queues, and the plan reviews it times out. */
describe('ResearchReconciler', () => {
  let database: TestDatabase;
  let module: TestingModule;
  let reconciler: ResearchReconciler;
  const queue = new EmptyQueue();
  const webhooks = new WebhookQueue();

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    database = await TestDatabase.create('reconciler', undefined, { migrate: false });
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      PLAN_REVIEW_TIMEOUT_SECONDS: '60',
      RECONCILE_GRACE_MS: '1000',
      RECONCILE_INTERVAL_MS: '3600000',
    });
    module = await Test.createTestingModule({
      imports: [TestConfigModule.with(config), DatabaseModule, ResearchPersistenceModule],
      providers: [
        ResearchReconciler,
        { provide: ResearchQueueProducer, useValue: queue },
        { provide: getToken(Metric.Requeued), useValue: { inc: () => undefined } },
        WebhookDeliverer,
        DeliveryService,
        DeliveryRepository,
        WebhookSecretRepository,
        WebhookSender,
        { provide: getQueueToken(WEBHOOK_QUEUE), useValue: webhooks },
        ...[
          Metric.WebhookAttempts,
          Metric.WebhookDeliveries,
          Metric.WebhookAttemptDuration,
          Metric.WebhookDeliveryLatency,
        ].map((name) => ({ provide: getToken(name), useValue: { inc: () => undefined, observe: () => undefined } })),
      ],
    }).compile();
    await module.init();
    await module.get(DataSource).runMigrations();
    reconciler = module.get(ResearchReconciler);
    queue.leased = true;
  });

  afterAll(async () => {
    await module?.close();
    await database?.drop();
    jest.restoreAllMocks();
  });

  /** A research in `status` since `secondsAgo`, as the service leaves it. */
  async function research(status: string, secondsAgo: number, callbackUrl?: string): Promise<string> {
    const id = randomUUID();
    const params = { maxSources: 5, verify: false, language: 'en', ...(callbackUrl ? { callbackUrl } : {}) };
    await database.query(
      `INSERT INTO researches (id, tenant_id, question, params, status, attempts, event_seq, created_at, updated_at,
                               started_at)
       VALUES ($1, $2, 'q', $5::jsonb, $3, 1, 1,
               now() - $4 * interval '1 s', now() - $4 * interval '1 s', now() - $4 * interval '1 s')`,
      [id, DEFAULT_TENANT_ID, status, secondsAgo, JSON.stringify(params)],
    );
    return id;
  }

  const stateOf = async (id: string) =>
    (
      await database.query<{ status: string; error: unknown; finished_at: Date | null }>(
        'SELECT status, error, finished_at FROM researches WHERE id = $1',
        [id],
      )
    )[0]!;
  const eventsOf = async (id: string) =>
    database.query<{ type: string; data: unknown }>(
      'SELECT type, data FROM research_events WHERE research_id = $1 ORDER BY seq',
      [id],
    );

  it('never re-queues a research awaiting review: it has no job by design', async () => {
    const waiting = await research('awaiting_review', 30);
    const lost = await research('pending', 30);
    const { requeued, reviewsTimedOut } = await reconciler.runPass();
    expect(queue.enqueued).toContain(lost);
    expect(queue.enqueued).not.toContain(waiting);
    expect(requeued).toBeGreaterThanOrEqual(1);
    expect(reviewsTimedOut).toBe(0);
    expect((await stateOf(waiting)).status).toBe('awaiting_review');
    expect(await eventsOf(waiting)).toEqual([]);
  });

  it('cancels a research whose plan waited longer than PLAN_REVIEW_TIMEOUT_SECONDS, with a readable reason', async () => {
    const overdue = await research('awaiting_review', 61);
    const recent = await research('awaiting_review', 59);
    const { reviewsTimedOut } = await reconciler.runPass();
    expect(reviewsTimedOut).toBe(1);
    const error = {
      code: 'plan_review_timeout',
      message:
        'the plan waited for review longer than 60 s (PLAN_REVIEW_TIMEOUT_SECONDS) and the research was cancelled',
    };
    expect(await stateOf(overdue)).toEqual({ status: 'cancelled', error, finished_at: expect.any(Date) });
    expect(await eventsOf(overdue)).toEqual([{ type: 'research.cancelled', data: error }]);
    expect((await stateOf(recent)).status).toBe('awaiting_review');
    expect(queue.enqueued).not.toContain(overdue);
    // Once cancelled, it is left alone.
    expect((await reconciler.runPass()).reviewsTimedOut).toBe(0);
  });

  it('delivers the cancellation of a timed-out review to its callback URL', async () => {
    const overdue = await research('awaiting_review', 61, 'https://hooks.example.com/research');
    await reconciler.runPass();
    const deliveries = await database.query<{ id: string; event: string; status: string }>(
      'SELECT id, event, status FROM research_deliveries WHERE research_id = $1',
      [overdue],
    );
    expect(deliveries).toEqual([{ id: expect.any(String), event: 'research.cancelled', status: 'pending' }]);
    expect(webhooks.added).toContain(`${deliveries[0]!.id}:1`);
  });

  it('does nothing in a pass whose lease another replica holds', async () => {
    const overdue = await research('awaiting_review', 120);
    queue.leased = false;
    try {
      expect(await reconciler.runPass()).toEqual({ requeued: 0, reviewsTimedOut: 0 });
    } finally {
      queue.leased = true;
    }
    expect((await stateOf(overdue)).status).toBe('awaiting_review');
  });
});

import { DEFAULT_TENANT_ID, DomainError } from '@app/common';
import { loadConfig } from '@app/config';
import { DatabaseModule, UnitOfWork } from '@app/database';
import { Metric } from '@app/observability';
import { TestConfigModule, TestDatabase, sleep } from '@app/testing';
import { getQueueToken } from '@nestjs/bull';
import { Test, TestingModule } from '@nestjs/testing';
import { getToken } from '@willsoto/nestjs-prometheus';
import { DataSource } from 'typeorm';
import { RunResearchJob } from './queue/research-queue';
import { ResearchQueueProducer } from './queue/research-queue.producer';
import { ResearchPersistenceModule } from './research-persistence.module';
import { ResearchRepository } from './persistence/research.repository';
import { ResearchPlan } from './research-plan';
import { ResearchStatus } from './research-status';
import { CreateResearchCommand, ResearchService } from './research.service';
import { DeliveryRepository } from './delivery/delivery.repository';
import { DeliveryService } from './delivery/delivery.service';
import { WEBHOOK_QUEUE } from './delivery/webhook-queue';
import { WebhookSecretRepository } from './delivery/webhook-secret.repository';
import { WebhookSender } from './delivery/webhook-sender';

/** Stands in for Bull: records each job with what another connection saw of its research then. */
class RecordingProducer {
  readonly enqueued: { job: RunResearchJob; statusSeenByOthers: string | null }[] = [];
  readonly removed: string[] = [];
  private readonly adding: Promise<void>[] = [];
  /** While set, adds wait for it, as adds wait for a slow Redis. */
  gate?: Promise<void>;

  constructor(private readonly database: () => TestDatabase) {}

  enqueueSoon(job: RunResearchJob, settled: (enqueued: boolean) => void): void {
    this.adding.push(this.enqueue(job).then(settled));
  }

  /** Once every add started by `enqueueSoon` has settled. */
  async settled(): Promise<void> {
    await Promise.all(this.adding);
  }

  async enqueue(job: RunResearchJob): Promise<boolean> {
    await this.gate;
    const rows = await this.database().query<{ status: string }>('SELECT status FROM researches WHERE id = $1', [
      job.researchId,
    ]);
    this.enqueued.push({ job, statusSeenByOthers: rows[0]?.status ?? null });
    return true;
  }

  async removeIdle(researchId: string): Promise<boolean> {
    this.removed.push(researchId);
    return true;
  }
}

/** Stands in for Bull's webhook queue: records each job added with the delivery others could see then. */
class RecordingWebhookQueue {
  readonly added: { jobId: string; deliveryVisible: boolean }[] = [];

  constructor(private readonly database: () => TestDatabase) {}

  on(): void {}

  async add(_name: string, job: { deliveryId: string }, options: { jobId: string }): Promise<void> {
    const rows = await this.database().query('SELECT id FROM research_deliveries WHERE id = $1', [job.deliveryId]);
    this.added.push({ jobId: options.jobId, deliveryVisible: rows.length > 0 });
  }
}

/** ResearchService against a real database: what is stored and queued when a transaction commits or not. */
describe('ResearchService in units of work', () => {
  let database: TestDatabase;
  let module: TestingModule;
  let service: ResearchService;
  let unitOfWork: UnitOfWork;
  let producer: RecordingProducer;
  let webhooks: RecordingWebhookQueue;

  beforeAll(async () => {
    database = await TestDatabase.create('research_service', undefined, { migrate: false });
    producer = new RecordingProducer(() => database);
    webhooks = new RecordingWebhookQueue(() => database);
    module = await Test.createTestingModule({
      imports: [
        TestConfigModule.with(
          loadConfig({ NODE_ENV: 'test', DATABASE_URL: database.url, WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' }),
        ),
        DatabaseModule,
        ResearchPersistenceModule,
      ],
      providers: [
        ResearchService,
        { provide: ResearchQueueProducer, useValue: producer },
        DeliveryService,
        DeliveryRepository,
        WebhookSecretRepository,
        WebhookSender,
        { provide: getQueueToken(WEBHOOK_QUEUE), useValue: webhooks },
        { provide: getToken(Metric.Submitted), useValue: { inc: () => undefined } },
      ],
    }).compile();
    await module.init();
    await module.get(DataSource).runMigrations();
    service = module.get(ResearchService);
    unitOfWork = module.get(UnitOfWork);
  });

  afterAll(async () => {
    await module?.close();
    await database?.drop();
  });

  beforeEach(async () => {
    await producer.settled();
    producer.enqueued.length = 0;
    producer.removed.length = 0;
    webhooks.added.length = 0;
  });

  const command = (question: string, idempotencyKey: string | null = null): CreateResearchCommand => ({
    tenantId: DEFAULT_TENANT_ID,
    question,
    params: { maxSources: 5, verify: false, language: 'en' },
    requestId: null,
    idempotencyKey,
  });
  const stored = (question: string) =>
    database.query('SELECT id, status FROM researches WHERE question = $1', [question]);

  it('queues a new research only once it is committed, so a worker can read it', async () => {
    const { research } = await service.create(command('committed first'));
    await producer.settled();
    expect(producer.enqueued).toEqual([
      {
        job: { researchId: research.id, tenantId: DEFAULT_TENANT_ID, requestId: null },
        statusSeenByOthers: 'pending',
      },
    ]);
  });

  it('answers once the research is stored, without waiting for its job to be added', async () => {
    let open!: () => void;
    producer.gate = new Promise((resolve) => (open = resolve));
    try {
      const { research } = await service.create(command('answered before queued'));
      expect(await stored('answered before queued')).toEqual([{ id: research.id, status: 'pending' }]);
      expect(producer.enqueued).toEqual([]);
      open();
      await producer.settled();
      expect(producer.enqueued.map((entry) => entry.job.researchId)).toEqual([research.id]);
    } finally {
      open();
      producer.gate = undefined;
    }
  });

  it('joins the caller’s unit: when that unit fails after the insert, nothing is stored and nothing queued', async () => {
    await expect(
      unitOfWork.run(async () => {
        await service.create(command('rolled back'));
        throw new Error('the audit record could not be written');
      }),
    ).rejects.toThrow('the audit record could not be written');
    expect(await stored('rolled back')).toEqual([]);
    expect(producer.enqueued).toEqual([]);
  });

  it('leaves a research running when the cancelling unit rolls back, and takes no job off the queue', async () => {
    const { research } = await service.create(command('cancel rolled back'));
    await expect(
      unitOfWork.run(async () => {
        expect((await service.cancel(DEFAULT_TENANT_ID, research.id)).status).toBe(ResearchStatus.Cancelled);
        throw new Error('failed after the cancel');
      }),
    ).rejects.toThrow('failed after the cancel');
    expect(await stored('cancel rolled back')).toEqual([{ id: research.id, status: 'pending' }]);
    expect(producer.removed).toEqual([]);

    await service.cancel(DEFAULT_TENANT_ID, research.id);
    expect(await stored('cancel rolled back')).toEqual([{ id: research.id, status: 'cancelled' }]);
    expect(producer.removed).toEqual([research.id]);
  });

  it('stores the webhook delivery of a cancelled research with the cancel, and queues it once committed', async () => {
    const withCallback = { ...command('cancel with callback'), callbackUrl: 'http://127.0.0.1:9/hook' };
    const { research } = await service.create(withCallback);
    expect(research.params.callbackUrl).toBe('http://127.0.0.1:9/hook');
    const deliveries = () =>
      database.query('SELECT event, trigger, url, status FROM research_deliveries WHERE research_id = $1', [
        research.id,
      ]);

    await expect(
      unitOfWork.run(async () => {
        await service.cancel(DEFAULT_TENANT_ID, research.id);
        throw new Error('failed after the cancel');
      }),
    ).rejects.toThrow('failed after the cancel');
    expect(await deliveries()).toEqual([]);
    expect(webhooks.added).toEqual([]);

    await service.cancel(DEFAULT_TENANT_ID, research.id);
    expect(await deliveries()).toEqual([
      { event: 'research.cancelled', trigger: 'terminal', url: 'http://127.0.0.1:9/hook', status: 'pending' },
    ]);
    expect(webhooks.added).toEqual([{ jobId: expect.stringMatching(/:1$/), deliveryVisible: true }]);
  });

  it('refuses a callback URL the outbound guard refuses, naming callback_url', async () => {
    await expect(
      service.create({ ...command('bad callback'), callbackUrl: 'http://169.254.169.254/latest' }),
    ).rejects.toMatchObject({ details: [{ field: 'callback_url', message: expect.stringContaining('link-local') }] });
    expect(await stored('bad callback')).toEqual([]);
  });

  it('answers a second request with the same Idempotency-Key with the first research, even while the first is uncommitted', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = unitOfWork.run(async () => {
      const outcome = await service.create(command('same key', 'key-1'));
      await held;
      return outcome;
    });
    await sleep(100);
    // Its insert waits for the first transaction, then finds the conflict without an error.
    const second = service.create(command('same key', 'key-1'));
    await sleep(200);
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.replayed).toBe(false);
    expect(b).toEqual({ research: expect.objectContaining({ id: a.research.id }), replayed: true });
    expect(await stored('same key')).toHaveLength(1);
    await producer.settled();
    expect(producer.enqueued.map((entry) => entry.job.researchId)).toEqual([a.research.id]);
  });

  describe('plan review', () => {
    const made: ResearchPlan = {
      subQuestions: [
        { question: 'Who supplies HBM?', queries: ['HBM suppliers'] },
        { question: 'How much HBM shipped?', queries: ['HBM shipments 2024'] },
      ],
    };

    /** What a run that stopped for review leaves: awaiting review for 5 s, after 10 s of running, its plan stored. */
    async function awaitingReview(question: string, plan: ResearchPlan | null = made): Promise<string> {
      const { research } = await service.create(command(question));
      await database.query(
        `UPDATE researches SET status = 'awaiting_review', attempts = 1, started_at = now() - interval '15 s',
                updated_at = now() - interval '5 s',
                progress = '{"stage": "awaiting_review", "round": 0, "sources_found": 0, "sources_read": 0,
                             "findings": 0, "claims": 0, "percent": 8}'
          WHERE id = $1`,
        [research.id],
      );
      if (plan) {
        await database.query(
          `INSERT INTO research_steps (research_id, tenant_id, step, data, usage, attempt)
           VALUES ($1, $2, 'plan', $3::jsonb, '{"stage": "planner", "calls": 1}', 1)`,
          [research.id, DEFAULT_TENANT_ID, JSON.stringify(plan)],
        );
      }
      await producer.settled();
      producer.enqueued.length = 0;
      return research.id;
    }

    const row = async (id: string) =>
      (
        await database.query<{ status: string; waited_ms: string; progress: { stage: string; percent: number } }>(
          'SELECT status, waited_ms, progress FROM researches WHERE id = $1',
          [id],
        )
      )[0]!;
    const reviewedStep = async (id: string) =>
      (
        await database.query(
          `SELECT data, usage FROM research_steps WHERE research_id = $1 AND step = 'plan:reviewed'`,
          [id],
        )
      )[0];
    const lastEvent = async (id: string) =>
      (
        await database.query<{ type: string; data: Record<string, unknown> }>(
          'SELECT type, data FROM research_events WHERE research_id = $1 ORDER BY seq DESC LIMIT 1',
          [id],
        )
      )[0];

    it('stores an edited plan for the next run, puts the research back in the queue and does not charge the wait', async () => {
      const id = await awaitingReview('review edited');
      const edited: ResearchPlan = { subQuestions: [{ question: 'Which packaging limited HBM?', queries: ['CoWoS'] }] };
      const reviewed = await service.reviewPlan(DEFAULT_TENANT_ID, id, edited);
      expect(reviewed.status).toBe(ResearchStatus.Pending);
      const stored = await row(id);
      expect(stored.status).toBe('pending');
      // The 5 s it waited for the review are forgiven; the 10 s it ran before are not.
      expect(Number(stored.waited_ms)).toBeGreaterThanOrEqual(5000);
      expect(Number(stored.waited_ms)).toBeLessThan(10000);
      expect(stored.progress).toMatchObject({ stage: 'queued', percent: 8 });
      expect(await reviewedStep(id)).toEqual({ data: edited, usage: {} });
      expect(await lastEvent(id)).toEqual({
        type: 'plan.reviewed',
        data: {
          edited: true,
          plan: { sub_questions: [{ question: 'Which packaging limited HBM?', queries: ['CoWoS'] }] },
        },
      });
      // Its planning job is taken off before the new one is queued, once committed.
      expect(producer.removed).toEqual([id]);
      expect(producer.enqueued).toEqual([
        { job: { researchId: id, tenantId: DEFAULT_TENANT_ID, requestId: null }, statusSeenByOthers: 'pending' },
      ]);
    });

    it('accepts the plan as it was made, and says it was not edited even when sent back unchanged', async () => {
      const id = await awaitingReview('review as made');
      await service.reviewPlan(DEFAULT_TENANT_ID, id, null);
      expect((await reviewedStep(id))?.data).toEqual(made);
      expect((await lastEvent(id))?.data).toMatchObject({ edited: false });

      const again = await awaitingReview('review sent back unchanged');
      await service.reviewPlan(DEFAULT_TENANT_ID, again, structuredClone(made));
      expect((await lastEvent(again))?.data).toMatchObject({ edited: false });
    });

    it('accepts the question itself when planning failed and no plan was stored', async () => {
      const id = await awaitingReview('what limited HBM supply in 2024?', null);
      await service.reviewPlan(DEFAULT_TENANT_ID, id, null);
      expect((await reviewedStep(id))?.data).toEqual({
        subQuestions: [{ question: 'what limited HBM supply in 2024?', queries: ['what limited HBM supply in 2024?'] }],
      });
    });

    it('refuses a plan for a research that is not awaiting review, and queues nothing', async () => {
      const { research } = await service.create(command('not awaiting review'));
      await producer.settled();
      producer.enqueued.length = 0;
      const refused = await service.reviewPlan(DEFAULT_TENANT_ID, research.id, null).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(DomainError);
      expect(refused).toMatchObject({ code: 'research_not_awaiting_review', details: { status: 'pending' } });
      expect(await reviewedStep(research.id)).toBeUndefined();
      expect(producer.enqueued).toEqual([]);
      const other = await service
        .reviewPlan('00000000-0000-4000-8000-00000000000b', research.id, null)
        .catch((error: unknown) => error);
      expect(other).toMatchObject({ code: 'not_found' });
    });

    it('stores neither the plan nor the move when the unit rolls back, and queues nothing', async () => {
      const id = await awaitingReview('review rolled back');
      await expect(
        unitOfWork.run(async () => {
          await service.reviewPlan(DEFAULT_TENANT_ID, id, null);
          throw new Error('the audit record could not be written');
        }),
      ).rejects.toThrow('the audit record could not be written');
      expect((await row(id)).status).toBe('awaiting_review');
      expect(await reviewedStep(id)).toBeUndefined();
      expect(producer.enqueued).toEqual([]);
    });

    it('cancels a research awaiting review at its caller’s request', async () => {
      const id = await awaitingReview('cancelled in review');
      expect((await service.cancel(DEFAULT_TENANT_ID, id)).status).toBe(ResearchStatus.Cancelled);
      expect(await lastEvent(id)).toEqual({ type: 'research.cancelled', data: {} });
      await expect(service.reviewPlan(DEFAULT_TENANT_ID, id, null)).rejects.toMatchObject({
        code: 'research_not_awaiting_review',
        details: { status: 'cancelled' },
      });
    });

    it('cancels for a timeout only a research that has waited that long, with the reason', async () => {
      const repository = module.get(ResearchRepository);
      const id = await awaitingReview('timed out in review');
      const error = { code: 'plan_review_timeout', message: 'the plan waited too long' };
      expect(await repository.cancel(DEFAULT_TENANT_ID, id, { error, awaitingReviewForMs: 60_000 })).toBeNull();
      expect((await repository.findAwaitingReviewAcrossTenants(60_000, 10)).map((r) => r.id)).not.toContain(id);
      expect((await repository.findAwaitingReviewAcrossTenants(4000, 10)).map((r) => r.id)).toContain(id);
      const cancelled = await repository.cancel(DEFAULT_TENANT_ID, id, { error, awaitingReviewForMs: 4000 });
      expect(cancelled).toMatchObject({ status: 'cancelled', error });
      expect(await lastEvent(id)).toEqual({ type: 'research.cancelled', data: error });
      // A timeout never cancels a research in another status.
      const { research } = await service.create(command('pending, not in review'));
      await database.query(`UPDATE researches SET updated_at = now() - interval '1 h' WHERE id = $1`, [research.id]);
      expect(await repository.cancel(DEFAULT_TENANT_ID, research.id, { error, awaitingReviewForMs: 1 })).toBeNull();
    });

    it('refuses review_plan without the LLM engine, naming the field', async () => {
      const refused = await service
        .create({ ...command('review without a plan'), reviewPlan: true })
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'validation_failed', details: [{ field: 'review_plan' }] });
      expect(await stored('review without a plan')).toEqual([]);
    });
  });
});

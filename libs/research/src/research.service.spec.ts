import { DEFAULT_TENANT_ID } from '@app/common';
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

  constructor(private readonly database: () => TestDatabase) {}

  async enqueue(job: RunResearchJob): Promise<boolean> {
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

  beforeEach(() => {
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
    expect(producer.enqueued).toEqual([
      {
        job: { researchId: research.id, tenantId: DEFAULT_TENANT_ID, requestId: null },
        statusSeenByOthers: 'pending',
      },
    ]);
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
    expect(producer.enqueued.map((entry) => entry.job.researchId)).toEqual([a.research.id]);
  });
});

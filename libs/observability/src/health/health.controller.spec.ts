import { Injectable, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HealthController } from './health.controller';
import { HealthModule } from './health.module';
import { ReadinessCheck } from './readiness-check';

@Injectable()
class DatabaseUp extends ReadinessCheck {
  readonly name = 'database';
  async check(): Promise<void> {}
}

@Injectable()
class SearchEngineDown extends ReadinessCheck {
  readonly name = 'web_search';
  override readonly optional = true;
  async check(): Promise<void> {
    throw new Error('searxng: last search failed (answered 503)');
  }
}

@Injectable()
class QueueDown extends ReadinessCheck {
  readonly name = 'redis';
  async check(): Promise<void> {
    throw new Error('connection refused');
  }
}

describe('HealthController readiness', () => {
  const controllerWith = async (...checks: Type<ReadinessCheck>[]) =>
    (await Test.createTestingModule({ imports: [HealthModule.register({ checks })] }).compile()).get(HealthController);

  it('stays ready when an optional dependency fails, and shows why as a warning', async () => {
    const controller = await controllerWith(DatabaseUp, SearchEngineDown);
    await expect(controller.readiness()).resolves.toMatchObject({
      status: 'ok',
      info: {
        database: { status: 'up' },
        web_search: { status: 'up', warning: 'searxng: last search failed (answered 503)' },
      },
    });
  });

  it('is not ready when a required dependency fails, whatever the optional ones say', async () => {
    const controller = await controllerWith(DatabaseUp, SearchEngineDown, QueueDown);
    const error = await controller.readiness().catch((caught: { getResponse(): unknown }) => caught.getResponse());
    expect(error).toMatchObject({
      status: 'error',
      error: { redis: { status: 'down', message: 'connection refused' } },
      info: { web_search: { status: 'up' } },
    });
  });
});

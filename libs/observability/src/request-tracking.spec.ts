import { Writable } from 'node:stream';
import {
  ArgumentsHost,
  CallHandler,
  CanActivate,
  Catch,
  ConflictException,
  Controller,
  ExceptionFilter,
  ExecutionContext,
  ForbiddenException,
  Get,
  HttpException,
  Injectable,
  NestInterceptor,
  Param,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { FastifyReply } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { register } from 'prom-client';
import { Observable, catchError, throwError } from 'rxjs';
import { LoggingInterceptor } from './logging/logging.interceptor';
import { installRequestLogging } from './logging/request-logging';
import { Metric } from './metrics/metric-definitions';
import { MetricsInterceptor } from './metrics/metrics.interceptor';
import { MetricsModule } from './metrics/metrics.module';
import { TrackRequest } from './metrics/track.decorators';

class TeapotError extends Error {}

/** The answer of a filter of a controller: a status no table of the global filter knows. */
@Catch(TeapotError)
class TeapotFilter implements ExceptionFilter {
  catch(_error: TeapotError, host: ArgumentsHost): void {
    void host.switchToHttp().getResponse<FastifyReply>().status(418).send({ error: 'teapot' });
  }
}

/** Stands in for the api's global filter: HTTP errors keep their status, anything else is a 500. */
@Catch()
class AnswerFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const status = error instanceof HttpException ? error.getStatus() : 500;
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(status)
      .send({ error: String(error) });
  }
}

class DenyGuard implements CanActivate {
  canActivate(): boolean {
    throw new ForbiddenException('no key');
  }
}

/** Stands in for an interceptor outside the others (as audit will be) that answers an error its own way. */
@Injectable()
class OuterInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next
      .handle()
      .pipe(
        catchError((error: unknown) =>
          throwError(() => (error instanceof Error && error.message === 'conflict' ? new ConflictException() : error)),
        ),
      );
  }
}

@Controller('things')
class ThingsController {
  @Get('guarded')
  @UseGuards(DenyGuard)
  guarded(): string {
    return 'never';
  }

  @Get(':id')
  @TrackRequest('/things/{thing}')
  @UseFilters(TeapotFilter)
  get(@Param('id') id: string): { id: string } {
    if (id === 'teapot') throw new TeapotError();
    if (id === 'boom') throw new Error('boom');
    if (id === 'conflict') throw new Error('conflict');
    return { id };
  }
}

@Controller('health')
class HealthController {
  @Get()
  check(): { status: string } {
    return { status: 'ok' };
  }
}

describe('request tracking through the global interceptors and the Fastify hooks', () => {
  let app: NestFastifyApplication;
  let base: string;
  const chunks: string[] = [];
  let previousRoot: pino.Logger;

  beforeAll(async () => {
    register.clear();
    previousRoot = PinoLogger.root;
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    (PinoLogger as unknown as { root: pino.Logger }).root = pino({ level: 'debug', messageKey: 'message' }, stream);
    const moduleRef = await Test.createTestingModule({
      imports: [MetricsModule.forApp('api')],
      controllers: [ThingsController, HealthController],
      providers: [
        { provide: APP_INTERCEPTOR, useClass: OuterInterceptor },
        { provide: APP_INTERCEPTOR, useClass: MetricsInterceptor },
        { provide: APP_INTERCEPTOR, useClass: LoggingInterceptor },
        { provide: APP_FILTER, useClass: AnswerFilter },
      ],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    installRequestLogging(app.getHttpAdapter().getInstance());
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
    (PinoLogger as unknown as { root: pino.Logger }).root = previousRoot;
    register.clear();
  });

  const completedLines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.message === 'request completed');

  /** The samples of a metric that are not zero; of a histogram, its counts. */
  async function samples(name: string): Promise<{ labels: Record<string, unknown>; value: number }[]> {
    const metric = register.getSingleMetric(name);
    if (!metric) throw new Error(`${name} is not registered`);
    const { values } = await metric.get();
    // Only a histogram's values name their series.
    return (values as { labels: Record<string, unknown>; value: number; metricName?: string }[]).filter(
      (v) => v.value !== 0 && (v.metricName === undefined || v.metricName === `${name}_count`),
    );
  }

  /** Sends one request; once its line is written, returns what it left in the log and the metrics. */
  async function send(path: string) {
    chunks.length = 0;
    register.resetMetrics();
    const response = await fetch(`${base}${path}`);
    await response.text();
    for (let i = 0; i < 100 && completedLines().length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    return {
      status: response.status,
      lines: completedLines().map((line) => ({ level: line.level, path: line.path, status_code: line.status_code })),
      requests: (await samples(Metric.Requests)).map((s) => ({ ...s.labels, value: s.value })),
      durations: (await samples(Metric.RequestDuration)).map((s) => ({ ...s.labels, value: s.value })),
      active: (await samples(Metric.ActiveRequests)).map((s) => s.value),
    };
  }

  const INFO = 30;
  const WARN = 40;
  const ERROR = 50;
  const DEBUG = 20;

  it.each([
    ['a handled request', '/things/a', 200, 'success', INFO],
    ["a filter of the controller's answer, which no status table predicts", '/things/teapot', 418, 'error', WARN],
    ["an unexpected error, the global filter's 500", '/things/boom', 500, 'error', ERROR],
    ['an error an outer interceptor replaces', '/things/conflict', 409, 'error', WARN],
  ])('%s: recorded once, with the status sent', async (_, path, status, outcome, level) => {
    expect(await send(path)).toEqual({
      status,
      lines: [{ level, path, status_code: status }],
      requests: [
        {
          method: 'GET',
          endpoint: '/things/{thing}',
          status: outcome,
          code: `${Math.floor(status / 100)}xx`,
          value: 1,
        },
      ],
      durations: [{ method: 'GET', endpoint: '/things/{thing}', value: 1 }],
      active: [],
    });
  });

  it('a request a guard refuses: recorded once, under its route', async () => {
    expect(await send('/things/guarded')).toEqual({
      status: 403,
      lines: [{ level: WARN, path: '/things/guarded', status_code: 403 }],
      requests: [{ method: 'GET', endpoint: '/things/guarded', status: 'error', code: '4xx', value: 1 }],
      durations: [{ method: 'GET', endpoint: '/things/guarded', value: 1 }],
      active: [],
    });
  });

  it('a request for no route: recorded once, as unmatched', async () => {
    expect(await send('/nowhere')).toEqual({
      status: 404,
      lines: [{ level: WARN, path: '/nowhere', status_code: 404 }],
      requests: [{ method: 'GET', endpoint: 'unmatched', status: 'error', code: '4xx', value: 1 }],
      durations: [{ method: 'GET', endpoint: 'unmatched', value: 1 }],
      active: [],
    });
  });

  it('a probe: logged once at debug, not counted', async () => {
    expect(await send('/health')).toEqual({
      status: 200,
      lines: [{ level: DEBUG, path: '/health', status_code: 200 }],
      requests: [],
      durations: [],
      active: [],
    });
  });
});

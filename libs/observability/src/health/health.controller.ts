import { PublicRoute } from '@app/common';
import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { LifecycleState } from './lifecycle-state';
import { READINESS_CHECKS, ReadinessCheck } from './readiness-check';

const CHECK_TIMEOUT_MS = 1500;

@ApiTags('health')
@PublicRoute()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly lifecycle: LifecycleState,
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
  ) {}

  @Get('health')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness: the process is up and serving. Checks no dependency.' })
  @ApiOkResponse({ schema: { example: { status: 'ok', info: {}, error: {}, details: {} } } })
  liveness(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary:
      'Readiness: every dependency answers and the process is not shutting down. An optional dependency that fails (a web search engine) stays up with a warning.',
  })
  @ApiOkResponse({
    schema: {
      example: { status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' } }, error: {}, details: {} },
    },
  })
  @ApiServiceUnavailableResponse({
    description: 'A dependency is down or the process is shutting down; the failing check is named.',
  })
  readiness(): Promise<HealthCheckResult> {
    if (this.lifecycle.shuttingDown) {
      throw new ServiceUnavailableException({
        status: 'error',
        info: {},
        error: { lifecycle: { status: 'down', message: 'shutting down' } },
        details: { lifecycle: { status: 'down', message: 'shutting down' } },
      });
    }
    return this.health.check(this.checks.map((check) => () => this.run(check)));
  }

  private async run(check: ReadinessCheck): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(check.name);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`));
      }, CHECK_TIMEOUT_MS);
    });
    try {
      await Promise.race([check.check(controller.signal), timeout]);
      return indicator.up();
    } catch (error) {
      const message = (error as Error).message;
      return check.optional ? indicator.up({ warning: message }) : indicator.down({ message });
    } finally {
      clearTimeout(timer);
    }
  }
}

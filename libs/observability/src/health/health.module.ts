import { DynamicModule, Module, ModuleMetadata, Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { LifecycleState } from './lifecycle-state';
import { READINESS_CHECKS, ReadinessCheck } from './readiness-check';

export interface HealthOptions {
  imports?: ModuleMetadata['imports'];
  checks: Type<ReadinessCheck>[];
}

/** `/health` and `/ready` for a process, with the readiness checks it names. */
@Module({})
export class HealthModule {
  static register(options: HealthOptions): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), ...(options.imports ?? [])],
      controllers: [HealthController],
      providers: [
        LifecycleState,
        ...options.checks,
        {
          provide: READINESS_CHECKS,
          inject: options.checks,
          useFactory: (...checks: ReadinessCheck[]) => checks,
        },
      ],
      exports: [LifecycleState],
    };
  }
}

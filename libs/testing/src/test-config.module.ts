import { AppConfig } from '@app/config';
import { DynamicModule, Module } from '@nestjs/common';

/** Provides a given configuration to a testing module, in place of the one read from the environment. */
@Module({})
export class TestConfigModule {
  static with(config: AppConfig): DynamicModule {
    return {
      module: TestConfigModule,
      global: true,
      providers: [{ provide: AppConfig, useValue: config }],
      exports: [AppConfig],
    };
  }
}

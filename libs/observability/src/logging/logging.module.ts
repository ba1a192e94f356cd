import { AppConfig } from '@app/config';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { loggerParams } from './logger-params';

@Module({})
export class LoggingModule {
  static forApp(logger: 'api' | 'worker' | 'cli'): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => loggerParams(config, logger),
        }),
      ],
      exports: [LoggerModule],
    };
  }
}

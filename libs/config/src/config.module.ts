import { Global, Module } from '@nestjs/common';
import { AppConfig } from './app-config';
import { appConfig } from './app-config.provider';

@Global()
@Module({
  providers: [{ provide: AppConfig, useFactory: appConfig }],
  exports: [AppConfig],
})
export class ConfigModule {}

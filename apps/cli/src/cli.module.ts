import { AuditModule } from '@app/audit';
import { AuthModule } from '@app/auth';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { WebhookSecretModule } from '@app/research';
import { CorpusModule } from '@app/search';
import { Module } from '@nestjs/common';

@Module({ imports: [ConfigModule, DatabaseModule, CorpusModule, AuthModule, AuditModule, WebhookSecretModule] })
export class CliModule {}

import { Module } from '@nestjs/common';
import { WebhookSecretRepository } from './webhook-secret.repository';

/** The webhook signing secrets alone, for the CLI, which needs no queue. */
@Module({ providers: [WebhookSecretRepository], exports: [WebhookSecretRepository] })
export class WebhookSecretModule {}

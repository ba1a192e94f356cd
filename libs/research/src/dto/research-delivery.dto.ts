import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Delivery, DeliveryWithAttempts } from '../delivery/delivery.repository';

export class DeliveryAttemptDto {
  @ApiProperty({ example: 1, description: '1-based.' })
  n: number;

  @ApiProperty({ format: 'date-time' })
  attempted_at: string;

  @ApiProperty({
    enum: ['delivered', 'http_status', 'timeout', 'network', 'blocked_address', 'bad_url'],
    description: '`delivered` for a 2xx answer; otherwise why the attempt failed.',
  })
  outcome: string;

  @ApiPropertyOptional({ type: Number, nullable: true, example: 503, description: "The receiver's HTTP status." })
  status_code: number | null;

  @ApiProperty({ example: 42, description: 'From the start of the attempt to the end of the answer.' })
  duration_ms: number;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'the receiver answered 503' })
  error: string | null;
}

export class ResearchDeliveryDto {
  @ApiProperty({
    format: 'uuid',
    description: 'Sent as `id` in the body and `X-Webhook-Id`: the same on every attempt.',
  })
  delivery_id: string;

  @ApiProperty({
    enum: ['research.completed', 'research.failed', 'research.cancelled', 'plan.awaiting_review'],
    description: 'The terminal event, or `plan.awaiting_review` for a research waiting for its plan review.',
  })
  event: string;

  @ApiProperty({ enum: ['terminal', 'redeliver'], description: 'Sent when the research ended, or asked for again.' })
  trigger: string;

  @ApiProperty({ example: 'https://hooks.example.com/research' })
  url: string;

  @ApiProperty({
    enum: ['pending', 'delivered', 'failed'],
    description: '`pending` while attempts remain, `failed` once `WEBHOOK_RETRY_SECONDS` have passed without a 2xx.',
  })
  status: string;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true, description: 'When pending.' })
  next_attempt_at: string | null;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  finished_at: string | null;

  @ApiProperty({ type: [DeliveryAttemptDto], description: 'Every attempt, in order.' })
  attempts: DeliveryAttemptDto[];

  static from(delivery: Delivery | DeliveryWithAttempts): ResearchDeliveryDto {
    return {
      delivery_id: delivery.id,
      event: delivery.event,
      trigger: delivery.trigger,
      url: delivery.url,
      status: delivery.status,
      created_at: delivery.createdAt.toISOString(),
      next_attempt_at: delivery.status === 'pending' ? (delivery.nextAttemptAt?.toISOString() ?? null) : null,
      finished_at: delivery.finishedAt?.toISOString() ?? null,
      attempts: ('log' in delivery ? delivery.log : []).map((attempt) => ({
        n: attempt.n,
        attempted_at: attempt.attemptedAt.toISOString(),
        outcome: attempt.outcome,
        status_code: attempt.statusCode,
        duration_ms: attempt.durationMs,
        error: attempt.error,
      })),
    };
  }
}

export class ResearchDeliveryListResponseDto {
  @ApiProperty({ type: [ResearchDeliveryDto], description: 'Oldest first.' })
  items: ResearchDeliveryDto[];
}

export class WebhookSecretResponseDto {
  @ApiProperty({ format: 'uuid' })
  tenant_id: string;

  @ApiProperty({ example: 'acme' })
  tenant: string;

  @ApiProperty({
    example: 'whsec_3q2-7wDCmZ0b6bXk9Q1s8v1m0o2pYg7cR4fXw5eTtLk',
    description: "The key of the HMAC-SHA256 in every webhook's `X-Signature`, as is (the whole string).",
  })
  secret: string;
}

/** The webhook queue's names and payloads: the one place producer and processor agree on. */
export const WEBHOOK_QUEUE = 'webhooks';

export enum WebhookJobName {
  Deliver = 'deliver-webhook',
}

export interface DeliverWebhookJob {
  deliveryId: string;
  tenantId: string;
  researchId: string;
  /** 1-based: the attempt this job makes. The job id is `<delivery id>:<attempt>`. */
  attempt: number;
}

export function webhookJobId(deliveryId: string, attempt: number): string {
  return `${deliveryId}:${attempt}`;
}

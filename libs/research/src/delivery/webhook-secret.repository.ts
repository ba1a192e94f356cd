import { randomBytes } from 'node:crypto';
import { UnitOfWork } from '@app/database';
import { Injectable } from '@nestjs/common';

/**
 * The tenants' webhook signing secrets. Kept as they are, not hashed: the service signs with
 * them. Shown only through the admin endpoint and the CLI.
 */
@Injectable()
export class WebhookSecretRepository {
  constructor(private readonly unitOfWork: UnitOfWork) {}

  /** The tenant's signing secret, made on first use. */
  async secretOf(tenantId: string): Promise<string> {
    const rows = await this.unitOfWork.query<{ secret: string }[]>(
      `WITH made AS (
         INSERT INTO webhook_secrets (tenant_id, secret) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO NOTHING
         RETURNING secret
       )
       SELECT secret FROM made UNION ALL SELECT secret FROM webhook_secrets WHERE tenant_id = $1
       LIMIT 1`,
      [tenantId, newSecret()],
    );
    return rows[0]!.secret;
  }

  /** Replaces the tenant's signing secret; deliveries from now on are signed with the new one. */
  async rotateSecret(tenantId: string): Promise<string> {
    const rows = await this.unitOfWork.query<{ secret: string }[]>(
      `INSERT INTO webhook_secrets (tenant_id, secret) VALUES ($1, $2)
       ON CONFLICT (tenant_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = now()
       RETURNING secret`,
      [tenantId, newSecret()],
    );
    return rows[0]!.secret;
  }
}

/** 32 random bytes, in a form a receiver can paste: `whsec_` and base64url. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

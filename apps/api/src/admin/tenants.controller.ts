import { Audited } from '@app/audit';
import { ApiKeyService, RequireScopes, Scope } from '@app/auth';
import { NotFoundError } from '@app/common';
import { ErrorResponseDto } from '@app/http';
import { DeliveryService, WebhookSecretResponseDto } from '@app/research';
import { Controller, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

@ApiTags('admin')
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'No API key, or one that is unknown, expired or revoked.',
})
@RequireScopes(Scope.Admin)
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The key lacks the `admin` scope.' })
@ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No tenant has this name.' })
@Controller('api/v1/admin/tenants')
export class TenantsController {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly deliveries: DeliveryService,
  ) {}

  @Get(':name/webhook-secret')
  @Audited('webhook_secret.read', 'tenant', { tenantFromAnswer: true })
  @ApiOperation({
    summary: "A tenant's webhook signing secret",
    description:
      'The key of the HMAC-SHA256 in the `X-Signature` of every webhook of the tenant, made on first use. Give it ' +
      'to the receiver; docs/webhooks.md shows the check.',
  })
  @ApiOkResponse({ type: WebhookSecretResponseDto })
  async secret(@Param('name') name: string): Promise<WebhookSecretResponseDto> {
    const tenantId = await this.tenantId(name);
    return { tenant_id: tenantId, tenant: name, secret: await this.deliveries.secretOf(tenantId) };
  }

  @Post(':name/webhook-secret/rotate')
  @Audited('webhook_secret.rotate', 'tenant', { tenantFromAnswer: true })
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "Replace a tenant's webhook signing secret",
    description: 'Every attempt from now on, retries of earlier deliveries included, is signed with the new secret.',
  })
  @ApiOkResponse({ type: WebhookSecretResponseDto })
  async rotate(@Param('name') name: string): Promise<WebhookSecretResponseDto> {
    const tenantId = await this.tenantId(name);
    return { tenant_id: tenantId, tenant: name, secret: await this.deliveries.rotateSecret(tenantId) };
  }

  private async tenantId(name: string): Promise<string> {
    const id = await this.keys.tenantIdByName(name);
    if (!id) throw new NotFoundError('tenant', name);
    return id;
  }
}

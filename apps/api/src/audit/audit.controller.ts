import {
  AuditListResponseDto,
  AuditRecordDto,
  AuditService,
  AuditVerificationResponseDto,
  Audited,
  ListAuditRecordsQueryDto,
  VerifyAuditQueryDto,
} from '@app/audit';
import { CurrentPrincipal, ForbiddenError, RequireScopes, Scope } from '@app/auth';
import type { Principal } from '@app/auth';
import { ValidationError } from '@app/common';
import { ErrorResponseDto } from '@app/http';
import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

/** An admin named a tenant that does not exist: there is nothing of it to show. */
const NO_SUCH_TENANT = Symbol('no such tenant');

@ApiTags('audit')
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'No API key, or one that is unknown, expired or revoked.',
})
@ApiForbiddenResponse({
  type: ErrorResponseDto,
  description: 'The key lacks the `audit:read` scope, or names a tenant without being `admin`.',
})
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid input; `details` names each field.' })
@RequireScopes(Scope.AuditRead)
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Audited('audit.read', 'audit')
  @ApiOperation({
    summary: 'Review the audit trail, newest first',
    description:
      'Who did what, on which resource, with what outcome. A key sees its own tenant’s records; an `admin` key sees ' +
      'every tenant’s, or one tenant’s with `tenant`. Filters combine; `from` is inclusive, `to` exclusive. Cursor ' +
      'pagination: pass `next_cursor` as `cursor`.',
  })
  @ApiOkResponse({ type: AuditListResponseDto })
  async list(
    @Query() query: ListAuditRecordsQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AuditListResponseDto> {
    const tenantId = await this.tenantScope(principal, query.tenant);
    if (tenantId === NO_SUCH_TENANT) return { items: [], next_cursor: null };
    const page = await this.audit.list({
      tenantId,
      actor: query.actor,
      action: query.action,
      resourceType: query.resource_type,
      resourceId: query.resource_id,
      outcome: query.outcome,
      from: instantOf(query.from, 'from'),
      to: instantOf(query.to, 'to'),
      limit: query.limit,
      cursor: query.cursor,
    });
    return { items: page.items.map((record) => AuditRecordDto.from(record)), next_cursor: page.nextCursor };
  }

  @Get('verify')
  @Audited('audit.verify', 'audit')
  @ApiOperation({
    summary: 'Verify the hash chain of the audit trail',
    description:
      'Walks the chain record by record, recomputing each hash, and compares its end with the chain head: an edited, ' +
      'removed or reordered record, or a removed tail, makes it invalid, and `first_broken_id` names the first ' +
      'record that does not hold. A key checks its own tenant’s chain; an `admin` key checks every chain, or one ' +
      'tenant’s with `tenant`.',
  })
  @ApiOkResponse({ type: AuditVerificationResponseDto })
  async verify(
    @Query() query: VerifyAuditQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AuditVerificationResponseDto> {
    const tenantId = await this.tenantScope(principal, query.tenant);
    if (tenantId === NO_SUCH_TENANT) return AuditVerificationResponseDto.from([]);
    return AuditVerificationResponseDto.from(await this.audit.verify(tenantId));
  }

  /** Whose records: a key's own tenant's; for `admin`, every tenant's (undefined) or the one it names. */
  private async tenantScope(
    principal: Principal,
    tenant: string | undefined,
  ): Promise<string | undefined | typeof NO_SUCH_TENANT> {
    if (!principal.scopes.has(Scope.Admin)) {
      if (tenant !== undefined) throw new ForbiddenError([Scope.Admin], [...principal.scopes]);
      return principal.tenantId;
    }
    if (tenant === undefined) return undefined;
    return (await this.audit.tenantIdByName(tenant)) ?? NO_SUCH_TENANT;
  }
}

/** A query time as a date PostgreSQL can compare with: years 1 to 9999. */
function instantOf(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) {
    throw new ValidationError(`${field} must be a date-time from year 1 to 9999`, [
      { field, message: `${field} must be a date-time from year 1 to 9999` },
    ]);
  }
  return date;
}

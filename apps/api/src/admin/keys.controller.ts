import { Audited } from '@app/audit';
import {
  ApiKeyListResponseDto,
  ApiKeyResponseDto,
  ApiKeyService,
  CreateApiKeyRequestDto,
  CreatedApiKeyResponseDto,
  ListApiKeysQueryDto,
  RequireScopes,
  Scope,
} from '@app/auth';
import { ErrorResponseDto } from '@app/http';
import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { UuidParamPipe } from '../http/uuid-param.pipe';

@ApiTags('admin')
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'No API key, or one that is unknown, expired or revoked.',
})
@RequireScopes(Scope.Admin)
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The key lacks the `admin` scope.' })
@Controller('api/v1/admin/keys')
export class KeysController {
  constructor(private readonly keys: ApiKeyService) {}

  @Post()
  @Audited('key.create', 'key', { tenantFromAnswer: true })
  @ApiOperation({
    summary: 'Create an API key',
    description: 'The answer holds the key itself, this once: it is stored only as a hash.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyResponseDto })
  async create(@Body() body: CreateApiKeyRequestDto): Promise<CreatedApiKeyResponseDto> {
    const created = await this.keys.create({
      tenant: body.tenant,
      scopes: body.scopes,
      name: body.name,
      expiresAt: body.expires_at ? new Date(body.expires_at) : null,
    });
    return { ...ApiKeyResponseDto.from(created.key, created.tenantName), key: created.text };
  }

  @Get()
  @Audited('key.list', 'key')
  @ApiOperation({ summary: 'List API keys, newest first, without the keys themselves' })
  @ApiOkResponse({ type: ApiKeyListResponseDto })
  async list(@Query() query: ListApiKeysQueryDto): Promise<ApiKeyListResponseDto> {
    const keys = await this.keys.list(query.tenant);
    return { items: keys.map(({ key, tenantName }) => ApiKeyResponseDto.from(key, tenantName)) };
  }

  @Post(':id/revoke')
  @Audited('key.revoke', 'key', { tenantFromAnswer: true })
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Revoke an API key',
    description: 'It stops working at once on this api, and within AUTH_KEY_CACHE_TTL_MS on every replica.',
  })
  @ApiOkResponse({ type: ApiKeyResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async revoke(@Param('id', UuidParamPipe) id: string): Promise<ApiKeyResponseDto> {
    const { key, tenantName } = await this.keys.revoke(id);
    return ApiKeyResponseDto.from(key, tenantName);
  }
}

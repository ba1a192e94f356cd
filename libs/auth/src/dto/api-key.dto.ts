import { present } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDateString,
  IsIn,
  IsString,
  Length,
  Matches,
  ValidateIf,
} from 'class-validator';
import { ApiKeyEntity } from '../persistence/api-key.entity';
import { ALL_SCOPES, Scope } from '../scopes';

export class CreateApiKeyRequestDto {
  @ApiProperty({
    description: 'The tenant the key acts for, by name; the tenant is created with its first key.',
    example: 'acme',
    pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
  })
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'tenant must be 1-63 lower-case letters, digits or hyphens' })
  @IsString()
  tenant: string;

  @ApiProperty({ enum: Scope, isArray: true, example: [Scope.ResearchRead, Scope.ResearchWrite] })
  @IsIn(ALL_SCOPES, { each: true })
  @ArrayMaxSize(ALL_SCOPES.length)
  @ArrayMinSize(1)
  @IsArray()
  scopes: Scope[];

  @ApiPropertyOptional({ description: 'What the key is for.', maxLength: 200, example: 'research team CI' })
  @ValidateIf(present)
  @Length(1, 200)
  @IsString()
  name?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the key stops working; never when omitted or null.',
  })
  @ValidateIf((_, value) => value !== undefined && value !== null)
  @IsDateString({ strict: true })
  expires_at?: string | null;
}

export class ApiKeyResponseDto {
  @ApiProperty({ format: 'uuid' })
  key_id: string;

  @ApiProperty({ description: 'The tenant the key acts for.', example: 'acme' })
  tenant: string;

  @ApiProperty({ format: 'uuid', description: "The tenant's id, as audit records name it." })
  tenant_id: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ description: 'The first characters of the key, to tell keys apart.', example: 'drs_Ab3dEf7h' })
  prefix: string;

  @ApiProperty({ enum: Scope, isArray: true })
  scopes: Scope[];

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  expires_at: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  revoked_at: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Updated at most once a minute.' })
  last_used_at: string | null;

  static from(key: ApiKeyEntity, tenant: string): ApiKeyResponseDto {
    return {
      key_id: key.id,
      tenant,
      tenant_id: key.tenantId,
      name: key.name,
      prefix: key.prefix,
      scopes: key.scopes,
      created_at: key.createdAt.toISOString(),
      expires_at: key.expiresAt?.toISOString() ?? null,
      revoked_at: key.revokedAt?.toISOString() ?? null,
      last_used_at: key.lastUsedAt?.toISOString() ?? null,
    };
  }
}

export class CreatedApiKeyResponseDto extends ApiKeyResponseDto {
  @ApiProperty({
    description: 'The key itself. It is shown this once and stored only as a hash: keep it now.',
    example: 'drs_Ab3dEf7h_3xq0lT2F0y9m4H0pYkqP2c8i0ZbN7v6Rr1sDdWw5eQk',
  })
  key: string;
}

export class ApiKeyListResponseDto {
  @ApiProperty({ type: [ApiKeyResponseDto] })
  items: ApiKeyResponseDto[];
}

export class ListApiKeysQueryDto {
  @ApiPropertyOptional({ description: 'Only the keys of this tenant.', example: 'acme' })
  @ValidateIf(present)
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'tenant must be 1-63 lower-case letters, digits or hyphens' })
  @IsString()
  tenant?: string;
}

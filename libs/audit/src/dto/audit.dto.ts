import { PageQueryDto, present } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsIn, IsString, Length, Matches, ValidateIf } from 'class-validator';
import {
  AUDIT_ACTIONS,
  AUDIT_OUTCOMES,
  AUDIT_RESOURCE_TYPES,
  AuditAction,
  AuditOutcome,
  AuditResourceType,
} from '../audit-action';
import { ChainProblem } from '../audit-chain';
import { ChainVerification } from '../audit.service';
import { ListedAuditRecord } from '../persistence/audit.repository';

const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TENANT_DESCRIPTION = 'Only this tenant, by name. For `admin` keys only: other keys see their own tenant alone.';

export class ListAuditRecordsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    description: 'Who: `key:<key id>`, or `anonymous`.',
    example: 'key:7d0b8a52-3c55-4a3b-9a4e-2f1b7f6c9d10',
  })
  @ValidateIf(present)
  @Matches(/^(key:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|anonymous)$/, {
    message: 'actor must be key:<key id> or anonymous',
  })
  @IsString()
  actor?: string;

  @ApiPropertyOptional({ enum: AUDIT_ACTIONS })
  @ValidateIf(present)
  @IsIn(AUDIT_ACTIONS)
  action?: AuditAction;

  @ApiPropertyOptional({ enum: AUDIT_RESOURCE_TYPES })
  @ValidateIf(present)
  @IsIn(AUDIT_RESOURCE_TYPES)
  resource_type?: AuditResourceType;

  @ApiPropertyOptional({ description: 'The id of the resource: a research, a document, a key.' })
  @ValidateIf(present)
  @Length(1, 128)
  @IsString()
  resource_id?: string;

  @ApiPropertyOptional({ enum: AUDIT_OUTCOMES })
  @ValidateIf(present)
  @IsIn(AUDIT_OUTCOMES)
  outcome?: AuditOutcome;

  @ApiPropertyOptional({ format: 'date-time', description: 'Records at or after this time.' })
  @ValidateIf(present)
  @IsDateString({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Records before this time.' })
  @ValidateIf(present)
  @IsDateString({ strict: true })
  to?: string;

  @ApiPropertyOptional({ description: TENANT_DESCRIPTION, example: 'acme' })
  @ValidateIf(present)
  @Matches(TENANT_NAME, { message: 'tenant must be 1-63 lower-case letters, digits or hyphens' })
  @IsString()
  tenant?: string;
}

export class VerifyAuditQueryDto {
  @ApiPropertyOptional({
    description: `${TENANT_DESCRIPTION} Without it, an \`admin\` key checks every chain.`,
    example: 'acme',
  })
  @ValidateIf(present)
  @Matches(TENANT_NAME, { message: 'tenant must be 1-63 lower-case letters, digits or hyphens' })
  @IsString()
  tenant?: string;
}

export class AuditRecordDto {
  @ApiProperty({ format: 'uuid' })
  record_id: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The tenant, by name; null for a caller refused before it was identified (no valid key).',
  })
  tenant: string | null;

  @ApiProperty({ description: "The record's place in its tenant's chain, from 1." })
  seq: number;

  @ApiProperty({ format: 'date-time' })
  occurred_at: string;

  @ApiProperty({ description: '`key:<key id>` or `anonymous`.', example: 'key:7d0b8a52-3c55-4a3b-9a4e-2f1b7f6c9d10' })
  actor: string;

  @ApiProperty({ enum: AUDIT_ACTIONS })
  action: AuditAction;

  @ApiProperty({ enum: AUDIT_RESOURCE_TYPES })
  resource_type: AuditResourceType;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The created id for a create, the id in the path otherwise; null for lists.',
  })
  resource_id: string | null;

  @ApiProperty({
    enum: AUDIT_OUTCOMES,
    description: '`denied`: refused by authentication, scopes or rate limits; `failure`: allowed, and failed.',
  })
  outcome: AuditOutcome;

  @ApiProperty({ description: 'The HTTP status of the answer.', example: 202 })
  status_code: number;

  @ApiProperty({ type: String, nullable: true, description: 'The X-Request-Id of the call.' })
  request_id: string | null;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  client_ip: string | null;

  @ApiProperty({ type: String, nullable: true })
  user_agent: string | null;

  @ApiProperty({
    description:
      'How many requests the record stands for. 1, except for repeated refusals of one caller (same tenant, ' +
      'actor, client IP, action and status) within `AUDIT_DENIED_WINDOW_MS`: the first is recorded on its own, ' +
      'and one more record stands for all that followed in the window, with the request id, resource and user ' +
      'agent of the first of them.',
    example: 1,
  })
  occurrences: number;

  @ApiProperty({ description: 'SHA-256 (hex) of the previous record of the chain; 64 zeros for the first.' })
  prev_hash: string;

  @ApiProperty({ description: "SHA-256 (hex) of this record's canonical content and `prev_hash`." })
  hash: string;

  static from(record: ListedAuditRecord): AuditRecordDto {
    return {
      record_id: record.id,
      tenant: record.tenantName,
      seq: record.seq,
      occurred_at: record.occurredAt.toISOString(),
      actor: record.actor,
      action: record.action,
      resource_type: record.resourceType,
      resource_id: record.resourceId,
      outcome: record.outcome,
      status_code: record.statusCode,
      request_id: record.requestId,
      client_ip: record.clientIp,
      user_agent: record.userAgent,
      occurrences: record.occurrences,
      prev_hash: record.prevHash,
      hash: record.hash,
    };
  }
}

export class AuditListResponseDto {
  @ApiProperty({ type: [AuditRecordDto] })
  items: AuditRecordDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last.' })
  next_cursor: string | null;
}

const PROBLEMS: ChainProblem[] = [
  'content_changed',
  'link_broken',
  'sequence_broken',
  'records_missing_at_end',
  'head_missing',
];

export class ChainVerificationDto {
  @ApiProperty({ type: String, nullable: true, description: 'The tenant of the chain; null: unidentified callers.' })
  tenant: string | null;

  @ApiProperty()
  valid: boolean;

  @ApiProperty({ description: 'Records read, up to and with the first broken one.' })
  checked: number;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description:
      'The first record that does not hold; null when the chain holds, or when records are missing at its end.',
  })
  first_broken_id: string | null;

  @ApiProperty({ type: Number, nullable: true, description: 'The sequence number where the chain first breaks.' })
  first_broken_seq: number | null;

  @ApiProperty({
    type: String,
    enum: PROBLEMS,
    nullable: true,
    description:
      '`content_changed`: the record is not what its hash covers; `link_broken`: it does not follow the record ' +
      'before it; `sequence_broken`: records before it are missing or moved; `records_missing_at_end`: the chain ' +
      'stops before its head; `head_missing`: the chain has lost its head.',
  })
  problem: ChainProblem | null;

  static from(verification: ChainVerification): ChainVerificationDto {
    return {
      tenant: verification.tenantName,
      valid: verification.valid,
      checked: verification.checked,
      first_broken_id: verification.firstBrokenId,
      first_broken_seq: verification.firstBrokenSeq,
      problem: verification.problem,
    };
  }
}

export class AuditVerificationResponseDto {
  @ApiProperty({ description: 'Whether every chain checked holds.' })
  valid: boolean;

  @ApiProperty({ description: 'Records checked, over every chain.' })
  checked: number;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The first broken record of the first broken chain; null when every chain holds.',
  })
  first_broken_id: string | null;

  @ApiProperty({ type: [ChainVerificationDto], description: 'One entry per chain: one per tenant.' })
  chains: ChainVerificationDto[];

  static from(verifications: ChainVerification[]): AuditVerificationResponseDto {
    const chains = verifications.map((verification) => ChainVerificationDto.from(verification));
    const broken = chains.find((chain) => !chain.valid);
    return {
      valid: broken === undefined,
      checked: chains.reduce((sum, chain) => sum + chain.checked, 0),
      first_broken_id: broken?.first_broken_id ?? null,
      chains,
    };
  }
}

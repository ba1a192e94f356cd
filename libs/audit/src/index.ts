export { AUDIT_ACTIONS, AUDIT_OUTCOMES, AUDIT_RESOURCE_TYPES, AuditOutcome, DATA_READS } from './audit-action';
export type { AuditAction, AuditResourceType } from './audit-action';
export { ChainVerifier, GENESIS_HASH, canonicalContent, chainAfter, hashOf } from './audit-chain';
export type { ChainHead, ChainProblem, ChainVerdict } from './audit-chain';
export type { AuditEntry, AuditRecord } from './audit-record';
export { AuditModule } from './audit.module';
export { AuditService } from './audit.service';
export type { AuditExportFilter, AuditList, AuditQuery, ChainVerification } from './audit.service';
export { AuditWriter } from './audit.writer';
export {
  AuditListResponseDto,
  AuditRecordDto,
  AuditVerificationResponseDto,
  ChainVerificationDto,
  ListAuditRecordsQueryDto,
  VerifyAuditQueryDto,
} from './dto/audit.dto';
export { AuditInterceptor } from './http/audit.interceptor';
export { Audited, auditedRouteOf } from './http/audited.decorator';
export type { AuditedRoute } from './http/audited.decorator';
export type { ListedAuditRecord } from './persistence/audit.repository';

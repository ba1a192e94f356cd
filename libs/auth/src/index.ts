export { CurrentPrincipal, REQUIRED_SCOPES, RequireScopes, principalOf } from './auth.decorators';
export { ForbiddenError, UnauthorizedError } from './auth.errors';
export { ApiKeyGuard } from './auth.guard';
export { AuthModule } from './auth.module';
export { ApiKeyService } from './api-key.service';
export type { CreateKeyCommand, CreatedKey } from './api-key.service';
export { generateKey, hashKey, isWellFormedKey } from './api-key.format';
export { ApiKeyEntity } from './persistence/api-key.entity';
export type { KeyWithTenant } from './persistence/api-key.repository';
export { allows } from './principal';
export type { Principal } from './principal';
export { ALL_SCOPES, ANONYMOUS_SCOPES, Scope, isScope } from './scopes';
export {
  ApiKeyListResponseDto,
  ApiKeyResponseDto,
  CreateApiKeyRequestDto,
  CreatedApiKeyResponseDto,
  ListApiKeysQueryDto,
} from './dto/api-key.dto';
export { RateLimitGuard, RateLimitedError } from './throttling/rate-limit.guard';
export { ThrottlingModule } from './throttling/throttling.module';

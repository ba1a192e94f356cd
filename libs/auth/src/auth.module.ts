import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyGuard } from './auth.guard';
import { ApiKeyService } from './api-key.service';
import { ApiKeyEntity } from './persistence/api-key.entity';
import { ApiKeyRepository } from './persistence/api-key.repository';
import { TenantEntity } from './persistence/tenant.entity';

/** API keys and tenants; the api binds ApiKeyGuard as its global guard. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity, TenantEntity])],
  providers: [ApiKeyRepository, ApiKeyService, ApiKeyGuard],
  exports: [ApiKeyService, ApiKeyGuard],
})
export class AuthModule {}

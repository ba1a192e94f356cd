import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { TenantEntity } from './tenant.entity';

export interface KeyWithTenant {
  key: ApiKeyEntity;
  tenantName: string;
}

/** Tenants and API keys in PostgreSQL. Keys are looked up by the hash of their text only. */
@Injectable()
export class ApiKeyRepository {
  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @InjectRepository(TenantEntity) private readonly tenants: Repository<TenantEntity>,
  ) {}

  findTenantByName(name: string): Promise<TenantEntity | null> {
    return this.tenants.findOneBy({ name });
  }

  findTenantById(id: string): Promise<TenantEntity | null> {
    return this.tenants.findOneBy({ id });
  }

  /** The tenant of that name, created if there is none yet (two callers at once get the same one). */
  async tenantNamed(name: string): Promise<TenantEntity> {
    const existing = await this.findTenantByName(name);
    if (existing) return existing;
    const tenant = Object.assign(new TenantEntity(), { id: randomUUID(), name, createdAt: new Date() });
    try {
      await this.tenants.insert(tenant);
      return tenant;
    } catch (error) {
      if (!isUniqueViolation(error, 'tenants_name_uq')) throw error;
      return this.tenants.findOneByOrFail({ name });
    }
  }

  async insert(key: ApiKeyEntity): Promise<void> {
    await this.keys.insert(key);
  }

  findByHash(hash: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOneBy({ keyHash: hash });
  }

  findById(id: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOneBy({ id });
  }

  /** Every key, newest first, with its tenant's name; only one tenant's when given. */
  async list(tenantId?: string): Promise<KeyWithTenant[]> {
    const query = this.keys
      .createQueryBuilder('k')
      .innerJoin(TenantEntity, 't', 't.id = k.tenant_id')
      .addSelect('t.name', 'tenant_name')
      .orderBy('k.created_at', 'DESC')
      .addOrderBy('k.id', 'DESC');
    if (tenantId) query.where('k.tenant_id = :tenantId', { tenantId });
    const { entities, raw } = await query.getRawAndEntities<{ tenant_name: string }>();
    return entities.map((key, index) => ({ key, tenantName: raw[index]?.tenant_name ?? '' }));
  }

  /** Revokes a key that is not revoked yet; null when there is no such key. */
  async revoke(id: string): Promise<ApiKeyEntity | null> {
    await this.keys
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('id = :id AND revoked_at IS NULL', { id })
      .execute();
    return this.findById(id);
  }

  /** Records when a key was last used; at most once a minute per key, so it costs reads nothing. */
  async touch(id: string): Promise<void> {
    await this.keys
      .createQueryBuilder()
      .update()
      .set({ lastUsedAt: () => 'now()' })
      .where(`id = :id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, { id })
      .execute();
  }
}

import { randomUUID } from 'node:crypto';
import { UnitOfWork } from '@app/database';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';
import { TenantEntity } from './tenant.entity';

export interface KeyWithTenant {
  key: ApiKeyEntity;
  tenantName: string;
}

/**
 * Tenants and API keys in PostgreSQL. Keys are looked up by the hash of their text only. Key
 * management joins the caller's unit of work when one is open, so that a key changes together
 * with its audit record.
 */
@Injectable()
export class ApiKeyRepository {
  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    private readonly unitOfWork: UnitOfWork,
  ) {}

  async findTenantByName(name: string): Promise<TenantEntity | null> {
    return (await this.tenants()).findOneBy({ name });
  }

  async findTenantById(id: string): Promise<TenantEntity | null> {
    return (await this.tenants()).findOneBy({ id });
  }

  /**
   * The tenant of that name, created if there is none yet (two callers at once get the same
   * one). A name taken meanwhile is not an error, which would abort the caller's transaction.
   */
  async tenantNamed(name: string): Promise<TenantEntity> {
    const existing = await this.findTenantByName(name);
    if (existing) return existing;
    const tenant = Object.assign(new TenantEntity(), { id: randomUUID(), name, createdAt: new Date() });
    const inserted = await this.unitOfWork.query<unknown[]>(
      `INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id`,
      [tenant.id, tenant.name, tenant.createdAt],
    );
    return inserted.length > 0 ? tenant : (await this.tenants()).findOneByOrFail({ name });
  }

  async insert(key: ApiKeyEntity): Promise<void> {
    await (await this.apiKeys()).insert(key);
  }

  /** Outside any unit of work: authentication reads it before one opens. */
  findByHash(hash: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOneBy({ keyHash: hash });
  }

  async findById(id: string): Promise<ApiKeyEntity | null> {
    return (await this.apiKeys()).findOneBy({ id });
  }

  /** Every key, newest first, with its tenant's name; only one tenant's when given. */
  async list(tenantId?: string): Promise<KeyWithTenant[]> {
    const query = (await this.apiKeys())
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
    await (
      await this.apiKeys()
    )
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('id = :id AND revoked_at IS NULL', { id })
      .execute();
    return this.findById(id);
  }

  /**
   * Records when a key was last used; at most once a minute per key, so it costs reads nothing.
   * Never in the caller's unit of work: nobody waits for it, and it must not ride on a rollback.
   */
  async touch(id: string): Promise<void> {
    await this.keys
      .createQueryBuilder()
      .update()
      .set({ lastUsedAt: () => 'now()' })
      .where(`id = :id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, { id })
      .execute();
  }

  private async apiKeys(): Promise<Repository<ApiKeyEntity>> {
    return (await this.unitOfWork.manager()).getRepository(ApiKeyEntity);
  }

  private async tenants(): Promise<Repository<TenantEntity>> {
    return (await this.unitOfWork.manager()).getRepository(TenantEntity);
  }
}

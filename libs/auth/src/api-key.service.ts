import { randomUUID } from 'node:crypto';
import { DEFAULT_TENANT_ID, NotFoundError, ValidationError } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable, Logger } from '@nestjs/common';
import { generateKey, hashKey, isWellFormedKey } from './api-key.format';
import { UnauthorizedError } from './auth.errors';
import { ApiKeyEntity } from './persistence/api-key.entity';
import { ApiKeyRepository, KeyWithTenant } from './persistence/api-key.repository';
import { Principal } from './principal';
import { ANONYMOUS_SCOPES, Scope, isScope } from './scopes';

export interface CreateKeyCommand {
  /** The tenant's name; the tenant is created on its first key. */
  tenant: string;
  scopes: readonly string[];
  /** What the key is for. */
  name?: string;
  expiresAt?: Date | null;
}

export interface CreatedKey {
  /** The key itself: shown once, stored only as a hash. */
  text: string;
  key: ApiKeyEntity;
  tenantName: string;
}

const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const CACHE_LIMIT = 10_000;

interface Remembered {
  /** Null: no valid key has this hash. */
  principal: Principal | null;
  keyExpiresAt: number | null;
  /** Never used after this: a revocation elsewhere is seen within the cache time. */
  rememberedUntil: number;
  /** From then on, a use also reads the key again in the background (see `authenticate`). */
  refreshFrom: number;
  lastTouched: number;
}

/**
 * API keys: created with at least 32 random bytes, shown once, stored as a SHA-256 hash with a
 * visible prefix; listed, given an expiry, revoked. Verifying a key reads PostgreSQL once per
 * `AUTH_KEY_CACHE_TTL_MS` per process, then answers from memory.
 */
@Injectable()
export class ApiKeyService {
  private readonly logger = new Logger('ApiKeys');
  private readonly remembered = new Map<string, Remembered>();
  /** Reads of a key in flight: the requests that need the same key wait for one read. */
  private readonly reading = new Map<string, Promise<Remembered>>();
  /** Moved by every revocation: a read begun before one does not put its key back in memory. */
  private revocations = 0;
  readonly anonymous: Principal = {
    tenantId: DEFAULT_TENANT_ID,
    keyId: null,
    actor: 'anonymous',
    scopes: new Set(ANONYMOUS_SCOPES),
  };

  constructor(
    private readonly repository: ApiKeyRepository,
    private readonly config: AppConfig,
  ) {}

  async create(command: CreateKeyCommand): Promise<CreatedKey> {
    const problems: { field: string; message: string }[] = [];
    if (!TENANT_NAME.test(command.tenant)) {
      problems.push({ field: 'tenant', message: 'tenant must be 1-63 lower-case letters, digits or hyphens' });
    }
    const unknown = command.scopes.filter((scope) => !isScope(scope));
    if (command.scopes.length === 0 || unknown.length > 0) {
      problems.push({
        field: 'scopes',
        message: `scopes must be some of ${Object.values(Scope).join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`,
      });
    }
    if (command.expiresAt && command.expiresAt.getTime() <= Date.now()) {
      problems.push({ field: 'expires_at', message: 'expires_at must be in the future' });
    }
    if (problems.length > 0) throw new ValidationError(problems.map((p) => p.message).join('; '), problems);

    const tenant = await this.repository.tenantNamed(command.tenant);
    const generated = generateKey();
    const key = Object.assign(new ApiKeyEntity(), {
      id: randomUUID(),
      tenantId: tenant.id,
      name: command.name?.trim() || `${tenant.name} key`,
      prefix: generated.prefix,
      keyHash: generated.hash,
      scopes: [...new Set(command.scopes)] as Scope[],
      createdAt: new Date(),
      expiresAt: command.expiresAt ?? null,
      revokedAt: null,
      lastUsedAt: null,
    });
    await this.repository.insert(key);
    this.logger.log({ key_id: key.id, tenant: tenant.name, scopes: key.scopes }, 'api key created');
    return { text: generated.text, key, tenantName: tenant.name };
  }

  /** The id of the tenant with this name; null when there is none. */
  async tenantIdByName(name: string): Promise<string | null> {
    return (await this.repository.findTenantByName(name))?.id ?? null;
  }

  /** Keys newest first; one tenant's when named. */
  async list(tenantName?: string): Promise<KeyWithTenant[]> {
    if (tenantName === undefined) return this.repository.list();
    const tenant = await this.repository.findTenantByName(tenantName);
    return tenant ? this.repository.list(tenant.id) : [];
  }

  /** Revokes a key (again is harmless); it stops working here at once, elsewhere within the cache time. */
  async revoke(id: string): Promise<KeyWithTenant> {
    const key = await this.repository.revoke(id);
    if (!key) throw new NotFoundError('api key', id);
    const tenant = await this.repository.findTenantById(key.tenantId);
    this.revocations += 1;
    for (const [hash, entry] of this.remembered) {
      if (entry.principal?.keyId === id) this.remembered.delete(hash);
    }
    this.logger.log({ key_id: id }, 'api key revoked');
    return { key, tenantName: tenant?.name ?? '' };
  }

  /** The principal of a presented key; a 401 when it is malformed, unknown, expired or revoked. */
  async authenticate(text: string): Promise<Principal> {
    if (!isWellFormedKey(text)) throw new UnauthorizedError('the API key is not valid');
    const hash = hashKey(text);
    const now = Date.now();
    let entry = this.remembered.get(hash);
    if (!entry || entry.rememberedUntil <= now) {
      entry = await this.read(hash);
    } else if (entry.refreshFrom <= now && !this.reading.has(hash)) {
      // Read again before the entry runs out, so that no request of a key in use waits for
      // PostgreSQL; this one is answered from memory meanwhile.
      this.read(hash).catch((error: Error) => this.logger.warn(`api key not read again: ${error.message}`));
    }
    if (!entry.principal) throw new UnauthorizedError('the API key is not valid');
    if (entry.keyExpiresAt !== null && entry.keyExpiresAt <= now) {
      throw new UnauthorizedError('the API key has expired');
    }
    if (now - entry.lastTouched > 60_000) {
      entry.lastTouched = now;
      const keyId = entry.principal.keyId as string;
      this.repository.touch(keyId).catch((error: Error) => this.logger.warn(`last use not recorded: ${error.message}`));
    }
    return entry.principal;
  }

  /** One read of a key at a time, whoever asks for it meanwhile. */
  private read(hash: string): Promise<Remembered> {
    let reading = this.reading.get(hash);
    if (!reading) {
      reading = this.lookUp(hash).finally(() => this.reading.delete(hash));
      this.reading.set(hash, reading);
    }
    return reading;
  }

  private async lookUp(hash: string): Promise<Remembered> {
    const revocations = this.revocations;
    // Counted from before the read: what it answers may be that old.
    const now = Date.now();
    const key = await this.repository.findByHash(hash);
    const ttl = this.config.auth.keyCacheTtlMs;
    const valid = key !== null && key.revokedAt === null;
    const entry: Remembered = {
      principal: valid
        ? { tenantId: key.tenantId, keyId: key.id, actor: `key:${key.id}`, scopes: new Set(key.scopes) }
        : null,
      keyExpiresAt: key?.expiresAt ? key.expiresAt.getTime() : null,
      rememberedUntil: now + ttl,
      refreshFrom: now + ttl / 2,
      lastTouched: this.remembered.get(hash)?.lastTouched ?? 0,
    };
    if (ttl > 0 && revocations === this.revocations) {
      // A bounded memory: the oldest entry goes first.
      if (this.remembered.size >= CACHE_LIMIT && !this.remembered.has(hash))
        this.remembered.delete(this.remembered.keys().next().value as string);
      this.remembered.set(hash, entry);
    }
    return entry;
  }
}

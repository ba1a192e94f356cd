import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Scope } from '../scopes';

@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId: string;

  /** A label for people: what the key is for. */
  @Column('text')
  name: string;

  /** `drs_` and the first 8 characters of the key: enough to tell keys apart, useless to call with. */
  @Column('text')
  prefix: string;

  /** SHA-256 of the whole key, hex. */
  @Column('text', { name: 'key_hash' })
  keyHash: string;

  @Column('text', { array: true })
  scopes: Scope[];

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt: Date | null;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  @Column('timestamptz', { name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;
}

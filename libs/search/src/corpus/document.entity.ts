import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('documents')
export class DocumentEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId: string;

  @Column('text')
  title: string;

  @Column('text', { nullable: true })
  url: string | null;

  @Column('text')
  text: string;

  @Column('jsonb')
  metadata: Record<string, unknown>;

  /** sha256 of the text: the same text is stored once per tenant. */
  @Column('text', { name: 'content_hash' })
  contentHash: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;
}

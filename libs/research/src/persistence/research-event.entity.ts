import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('research_events')
export class ResearchEventEntity {
  @PrimaryColumn('uuid', { name: 'research_id' })
  researchId: string;

  @PrimaryColumn('int')
  seq: number;

  @Column('uuid', { name: 'tenant_id' })
  tenantId: string;

  @Column('text')
  type: string;

  @Column('jsonb')
  data: Record<string, unknown>;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;
}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ResearchEventEntity } from './persistence/research-event.entity';
import { ResearchEntity } from './persistence/research.entity';
import { ResearchRepository } from './persistence/research.repository';

@Module({
  imports: [TypeOrmModule.forFeature([ResearchEntity, ResearchEventEntity])],
  providers: [ResearchRepository],
  exports: [ResearchRepository],
})
export class ResearchPersistenceModule {}

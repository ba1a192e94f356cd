import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CorpusSearchProvider } from './corpus/corpus-search.provider';
import { CorpusRepository } from './corpus/corpus.repository';
import { CorpusService } from './corpus/corpus.service';
import { DocumentEntity } from './corpus/document.entity';
import { TextModule } from './text.module';

@Module({
  imports: [TypeOrmModule.forFeature([DocumentEntity]), TextModule],
  providers: [CorpusRepository, CorpusService, CorpusSearchProvider],
  exports: [CorpusService, CorpusSearchProvider],
})
export class CorpusModule {}

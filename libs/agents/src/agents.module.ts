import { CorpusModule, CorpusSearchProvider, SearchProvider } from '@app/search';
import { Module } from '@nestjs/common';
import { ExtractiveResearchRunner } from './extractive/extractive-research.runner';

@Module({
  imports: [CorpusModule],
  providers: [{ provide: SearchProvider, useExisting: CorpusSearchProvider }, ExtractiveResearchRunner],
  exports: [ExtractiveResearchRunner],
})
export class AgentsModule {}

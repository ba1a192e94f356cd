import { AppConfig } from '@app/config';
import { Module } from '@nestjs/common';
import { CorpusSearchProvider } from './corpus/corpus-search.provider';
import { CorpusModule } from './corpus.module';
import { ObservedWebSearchProvider, WEB_SEARCH_PROVIDERS } from './providers/observed-web-search';
import { SearchProvider } from './search-provider';
import { SEARCH_PROVIDERS, SourceSearch } from './sources/source-search';
import { WebSearchSource } from './sources/web-search.source';
import { WebFetchModule } from './web-fetch.module';
import { WebSearchModule } from './web-search.module';

/**
 * Where researches find and read sources (SourceSearch): the corpus and the web engines that
 * `SEARCH_PROVIDERS` lists, in its order, with the guarded fetcher for pages. Needs the worker's
 * metrics (MetricsModule).
 */
@Module({
  imports: [CorpusModule, WebSearchModule, WebFetchModule],
  providers: [
    {
      provide: SEARCH_PROVIDERS,
      inject: [AppConfig, CorpusSearchProvider, WEB_SEARCH_PROVIDERS],
      useFactory: (config: AppConfig, corpus: CorpusSearchProvider, web: ObservedWebSearchProvider[]) =>
        config.search.providers.map((name): SearchProvider =>
          name === 'corpus' ? corpus : new WebSearchSource(web.find((engine) => engine.name === name)!),
        ),
    },
    SourceSearch,
  ],
  exports: [SourceSearch],
})
export class SearchModule {}

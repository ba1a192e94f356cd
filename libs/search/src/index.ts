export { CorpusModule } from './corpus.module';
export { CorpusSearchProvider } from './corpus/corpus-search.provider';
export { DocumentTooLargeError } from './corpus/corpus.errors';
export { CorpusService } from './corpus/corpus.service';
export type { IngestReport, NewDocument } from './corpus/corpus.service';
export { DocumentEntity } from './corpus/document.entity';
export {
  CreateDocumentRequestDto,
  DocumentListResponseDto,
  DocumentResponseDto,
  DocumentSummaryDto,
  ListDocumentsQueryDto,
} from './corpus/dto/document.dto';
export { SearchProvider } from './search-provider';
export type { SearchHit, SearchQuery, SourceKind, SourceSnapshot } from './search-provider';
export {
  SEARCH_PROVIDERS,
  SourceSearch,
  SourceUnreadableError,
  candidatesFor,
  fuseRankings,
} from './sources/source-search';
export type { ReadFailure, ReadRound, SearchRound } from './sources/source-search';
export { SearchFailedError } from './sources/sources.errors';
export type { ProviderFailureNote, ProviderFailureSummary } from './sources/sources.errors';
export { summarizeFailures } from './sources/sources.errors';
export { WebSearchSource } from './sources/web-search.source';
export { SearchModule } from './search.module';
export { CachedSearchProvider, PageCache, normalisedQuery } from './cache/source-caches';
export type { CachedPage } from './cache/source-caches';
export { InlineTextProcessor } from './text/inline-text-processor';
export { containsCjk, queryTerms, segmentWords, splitSentences, stem, toSearchText } from './text/segmenter';
export type { Sentence } from './text/segmenter';
export { TextProcessor } from './text/text-processor';
export { scanSentences } from './text/text-tasks';
export type {
  DocumentText,
  IndexedText,
  PassageRules,
  SentenceScan,
  SentenceScanInput,
  TermMatch,
} from './text/text-tasks';
export { TextModule } from './text.module';
export { choosePassages, estimateTokens, splitPassages } from './text/passages';
export type { PassageSpan, RankedPassage } from './text/passages';
export { FetchError } from './fetch/fetch-errors';
export type { FetchRefusalReason } from './fetch/fetch-errors';
export { SafeFetcher } from './fetch/safe-fetcher';
export type {
  FetchObserver,
  FetchOptions,
  FetchOutcome,
  FetchedPage,
  NotModified,
  PageFormat,
  PageValidators,
} from './fetch/safe-fetcher';
export { WebFetchModule } from './web-fetch.module';
export { readPage } from './pages/page-reader';
export type { ReadablePage } from './pages/page-reader';
export { ProviderHttp, SearchProviderError, retryAfterMs } from './providers/provider-http';
export type { ProviderFailure, ProviderHttpSettings } from './providers/provider-http';
export { SearxngSearchProvider } from './providers/searxng/searxng.provider';
export { WebSearchProvider } from './providers/web-search-provider';
export type { WebQuery, WebResult } from './providers/web-search-provider';
export { TavilySearchProvider } from './providers/tavily/tavily.provider';
export { BraveSearchProvider } from './providers/brave/brave.provider';
export {
  ObservedWebSearchProvider,
  WEB_SEARCH_PROVIDERS,
  WebSearchReadinessCheck,
} from './providers/observed-web-search';
export type { LastFailure } from './providers/observed-web-search';
export { WebSearchModule } from './web-search.module';

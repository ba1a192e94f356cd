import { DomainError } from '@app/common';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { contentHash } from '../content-hash';
import { FetchError } from '../fetch/fetch-errors';
import { FetchedPage, SafeFetcher } from '../fetch/safe-fetcher';
import { CachedPage, PAGE_CACHE, PageCache } from '../cache/source-caches';
import { ReadablePage, readPage } from '../pages/page-reader';
import { TextProcessor } from '../text/text-processor';
import { SearchProviderError } from '../providers/provider-http';
import { SearchHit, SearchProvider, SearchQuery, SourceSnapshot } from '../search-provider';
import { ProviderFailureNote, SearchFailedError } from './sources.errors';

/** The configured source providers, corpus and web engines, in the order of `SEARCH_PROVIDERS`. */
export const SEARCH_PROVIDERS = Symbol('SEARCH_PROVIDERS');

/** A found source that could not be read, and why: a fetch refusal reason, or `empty`. */
export interface ReadFailure {
  provider: string;
  url: string | null;
  reason: string;
  message: string;
}

export interface SearchRound {
  /** One list per provider that answered, best first. */
  rankings: SearchHit[][];
  failures: ProviderFailureNote[];
}

export interface ReadRound {
  /** In the order of the hits they were read from. */
  snapshots: SourceSnapshot[];
  failures: ReadFailure[];
}

/**
 * How many results to ask each provider for when a research wants `maxSources`: more than it
 * will read, so that a page that cannot be read (refused, gone, not text) has a replacement.
 */
export function candidatesFor(maxSources: number): number {
  return Math.min(maxSources * 2, maxSources + 10);
}

/** Reciprocal rank fusion's constant: how much the first places of a list outweigh the later ones. */
const FUSION_K = 60;
const READ_CONCURRENCY = 4;

/**
 * Where a research finds and reads its sources: the corpus and the configured web engines behind
 * one interface. A search asks the providers a research may use in parallel and goes on without
 * one that fails; a web result is read through the guarded fetcher and Readability, and what was
 * read is the snapshot the research stores and quotes from.
 */
@Injectable()
export class SourceSearch {
  private readonly logger = new Logger('SourceSearch');

  constructor(
    @Inject(SEARCH_PROVIDERS) private readonly providers: SearchProvider[],
    private readonly fetcher: SafeFetcher,
    private readonly text: TextProcessor,
    @Inject(PAGE_CACHE) private readonly pageCache: PageCache | null = null,
  ) {}

  /** The configured providers, in order. */
  get names(): string[] {
    return this.providers.map((provider) => provider.name);
  }

  /**
   * Runs the query on the providers named in `use` (all when absent). A provider that fails is
   * reported in `failures`; when every one fails the search throws SearchFailedError, retryable.
   */
  async search(query: SearchQuery, use?: readonly string[]): Promise<SearchRound> {
    const chosen = use ? this.providers.filter((provider) => use.includes(provider.name)) : this.providers;
    const failures: ProviderFailureNote[] = [];
    const rankings: SearchHit[][] = [];
    const answers = await Promise.allSettled(chosen.map((provider) => provider.search(query)));
    answers.forEach((answer, index) => {
      const provider = chosen[index]!.name;
      if (answer.status === 'fulfilled') {
        rankings.push(answer.value);
        return;
      }
      if (query.signal?.aborted) throw query.signal.reason;
      const error = answer.reason as Error;
      // The corpus is the service's own database: its failure is the research's, not a provider's.
      if (!(error instanceof SearchProviderError)) throw error;
      failures.push({ provider, reason: error.reason, message: error.message });
      this.logger.warn({ provider, reason: error.reason }, `search provider failed: ${error.message}`);
    });
    if (chosen.length > 0 && rankings.length === 0) throw new SearchFailedError(failures);
    return { rankings, failures };
  }

  /**
   * The source of one hit: the corpus's text at hand, or the page. A page read by an earlier
   * research is taken from the page cache while fresh, then revalidated with its server (a 304
   * keeps the copy); otherwise it is fetched and read. Throws a fetch refusal or SourceUnreadableError.
   */
  async read(hit: SearchHit, signal?: AbortSignal): Promise<SourceSnapshot> {
    if (hit.snapshot) return hit.snapshot;
    if (!hit.url) throw new SourceUnreadableError(hit, 'bad_url', 'the hit has no URL');
    const pages = this.pageCache?.entries;
    const key = PageCache.keyOf(hit.url);
    const cached = pages ? await pages.get(key) : null;
    let page: FetchedPage;
    if (cached && Date.now() - Date.parse(cached.checkedAt) < this.pageCache!.freshMs) {
      pages!.count(true);
      return fromCache(cached, hit, new Date(cached.checkedAt));
    }
    if (cached && (cached.etag || cached.lastModified)) {
      const answer = await this.fetcher.revalidate(hit.url, cached, { signal });
      if ('notModified' in answer) {
        pages!.count(true);
        await pages!.set(key, { ...cached, checkedAt: answer.checkedAt.toISOString() });
        return fromCache(cached, hit, answer.checkedAt);
      }
      page = answer;
    } else {
      page = await this.fetcher.fetch(hit.url, { signal });
    }
    pages?.count(false);
    const readable = await this.readable(hit, page, signal);
    if (!readable.text.trim()) throw new SourceUnreadableError(hit, 'empty', 'the page has no readable text');
    const snapshot: SourceSnapshot = {
      kind: 'web',
      provider: hit.provider,
      documentId: null,
      url: hit.url,
      finalUrl: page.finalUrl,
      title: readable.title || hit.title,
      httpStatus: page.status,
      mediaType: page.mediaType,
      contentHash: contentHash(readable.text),
      text: readable.text,
      retrievedAt: page.fetchedAt,
    };
    await pages?.set(key, {
      snapshot: { ...snapshot, retrievedAt: snapshot.retrievedAt.toISOString() },
      etag: page.etag,
      lastModified: page.lastModified,
      checkedAt: page.fetchedAt.toISOString(),
    });
    return snapshot;
  }

  /** A page's readable text: HTML and PDF in a text worker thread (they take a while), text as it is. */
  private async readable(hit: SearchHit, page: FetchedPage, signal?: AbortSignal): Promise<ReadablePage> {
    if (page.format === 'html') return this.text.extractHtml({ html: page.body, fallbackTitle: page.finalUrl }, signal);
    if (page.format !== 'pdf') return readPage(page);
    try {
      return await this.text.extractPdf(
        { data: page.data ?? new Uint8Array(), fallbackTitle: page.finalUrl, maxPages: PDF_MAX_PAGES },
        signal,
      );
    } catch (error) {
      if (signal?.aborted || error instanceof DomainError) throw error;
      throw new SourceUnreadableError(hit, 'bad_pdf', `the PDF could not be read: ${(error as Error).message}`);
    }
  }

  /**
   * Reads hits in order until `wanted` sources are read or the hits run out: a page that cannot be
   * read (refused, failed, empty) gives its place to the next hit. Cancelling stops it.
   */
  async readBest(hits: readonly SearchHit[], wanted: number, signal?: AbortSignal): Promise<ReadRound> {
    const read = new Map<number, SourceSnapshot>();
    const failed = new Map<number, ReadFailure>();
    let next = 0;
    let reading = 0;
    // Each lane takes the next hit while places are left: a slow page holds up only its own lane,
    // and a page that fails is replaced at once by the next hit.
    const lane = async () => {
      while (read.size + reading < wanted && next < hits.length) {
        const index = next++;
        const hit = hits[index] as SearchHit;
        reading += 1;
        try {
          read.set(index, await this.read(hit, signal));
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          failed.set(index, readFailure(hit, error));
        } finally {
          reading -= 1;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, wanted) }, lane));
    // In the order of the hits, whichever lane read them.
    const byHit = <T>(entries: Map<number, T>) => [...entries].sort(([a], [b]) => a - b).map(([, value]) => value);
    const failures = byHit(failed);
    for (const failure of failures) {
      this.logger.warn({ provider: failure.provider, url: failure.url, reason: failure.reason }, 'source not read');
    }
    return { snapshots: byHit(read), failures };
  }
}

/** Most pages of a PDF read: a research wants its passages, not a whole library. */
const PDF_MAX_PAGES = 200;

/** A kept page as the snapshot of this research: found by this hit's provider, known current at `checkedAt`. */
function fromCache(cached: CachedPage, hit: SearchHit, checkedAt: Date): SourceSnapshot {
  return { ...cached.snapshot, provider: hit.provider, url: hit.url, retrievedAt: checkedAt };
}

/** A hit whose source cannot be used, for a reason outside the fetcher's refusals. */
export class SourceUnreadableError extends Error {
  constructor(
    readonly hit: SearchHit,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'SourceUnreadableError';
  }
}

function readFailure(hit: SearchHit, error: unknown): ReadFailure {
  const reason = error instanceof FetchError || error instanceof SourceUnreadableError ? error.reason : 'network';
  return { provider: hit.provider, url: hit.url, reason, message: (error as Error).message };
}

/** The identity of a source across providers and queries: its URL, else its document. */
function keyOf(hit: SearchHit): string {
  return hit.url ? `url:${hit.url}` : `doc:${hit.documentId ?? hit.snapshot?.contentHash ?? ''}`;
}

/**
 * Several rankings (per provider, per query) as one, by reciprocal rank fusion: a source scores
 * the sum of 1 / (60 + rank) over the lists it is in, so one found high by several lists comes
 * first, and providers whose scores mean different things need no common scale. A source in
 * several lists is kept once, as its first list has it (the corpus's copy, with its text, when
 * the corpus lists it first); the same text twice (a document ingested twice) is kept once too.
 */
export function fuseRankings(rankings: readonly (readonly SearchHit[])[]): SearchHit[] {
  const fused = new Map<string, { hit: SearchHit; score: number; first: number }>();
  const keyByHash = new Map<string, string>();
  let order = 0;
  for (const ranking of rankings) {
    ranking.forEach((hit, rank) => {
      const hash = hit.snapshot?.contentHash;
      const key = (hash && keyByHash.get(hash)) ?? keyOf(hit);
      const known = fused.get(key);
      const score = 1 / (FUSION_K + rank + 1);
      if (known) {
        known.score += score;
        if (!known.hit.snapshot && hit.snapshot) known.hit = hit;
        return;
      }
      fused.set(key, { hit, score, first: order });
      order += 1;
      if (hash) keyByHash.set(hash, key);
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || a.first - b.first).map((entry) => entry.hit);
}

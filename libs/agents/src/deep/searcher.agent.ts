import { mapWithConcurrency } from '@app/common';
import { SearchProviderName } from '@app/config';
import { TrackResearchTask } from '@app/observability';
import { PLAN_MAX_QUERIES, PLAN_MAX_SUB_QUESTIONS, StoredSource } from '@app/research';
import {
  ProviderFailureNote,
  ReadFailure,
  SearchFailedError,
  SearchHit,
  SourceSearch,
  candidatesFor,
  fuseRankings,
} from '@app/search';
import { Injectable } from '@nestjs/common';
import { Plan } from './planner.agent';

const SEARCH_CONCURRENCY = 4;
/** The question and every query of the largest plan. */
const MAX_QUERIES = 1 + PLAN_MAX_SUB_QUESTIONS * PLAN_MAX_QUERIES;

/** What a research searches, and where. */
export interface SearchScope {
  tenantId: string;
  question: string;
  /** BCP 47, for the web engines. */
  language: string;
  providers: readonly SearchProviderName[];
  maxSources: number;
}

export interface SearchOutcome {
  /** Numbered 1..n, best first: what the readers read and the report cites. */
  sources: StoredSource[];
  queries: number;
  /** Distinct sources the queries found. */
  found: number;
  searchFailures: ProviderFailureNote[];
  readFailures: ReadFailure[];
}

/** The queries of a research's first round: the question itself, then the plan's. */
export function firstRoundQueries(question: string, plan: Plan | null): string[] {
  return [question, ...(plan?.subQuestions.flatMap((sub) => sub.queries) ?? [])];
}

/**
 * Runs a round's queries on every provider the research may use, fuses the rankings (one source
 * per document or URL, and per text), and reads the best `maxSources` that earlier rounds have not
 * read or failed to read: a page that cannot be read gives its place to the next source. New sources are numbered
 * after the known ones. A query that no provider answers is skipped; when none is answered the
 * search fails, retryably.
 */
@Injectable()
export class Searcher {
  constructor(private readonly sources: SourceSearch) {}

  @TrackResearchTask('searcher')
  async search(
    scope: SearchScope,
    roundQueries: readonly string[],
    signal: AbortSignal,
    known: readonly StoredSource[] = [],
    unreadable: readonly string[] = [],
  ): Promise<SearchOutcome> {
    const queries = [...new Set(roundQueries.map((q) => q.trim()))].filter(Boolean).slice(0, MAX_QUERIES);
    const searchFailures: ProviderFailureNote[] = [];
    const rounds = await mapWithConcurrency(queries, SEARCH_CONCURRENCY, async (text): Promise<SearchHit[][]> => {
      try {
        const round = await this.sources.search(
          { tenantId: scope.tenantId, text, limit: candidatesFor(scope.maxSources), language: scope.language, signal },
          scope.providers,
        );
        searchFailures.push(...round.failures);
        return round.rankings;
      } catch (error) {
        if (!(error instanceof SearchFailedError)) throw error;
        searchFailures.push(...error.failures);
        return [];
      }
    });
    const answered = rounds.filter((rankings) => rankings.length > 0).length;
    if (queries.length > 0 && answered === 0) throw new SearchFailedError(searchFailures);

    // What earlier rounds read, or failed to read, is not read again.
    const seen = new Set(
      [...known.flatMap((s) => [s.documentId, s.url, s.finalUrl, s.contentHash]), ...unreadable].filter(Boolean),
    );
    const hits = fuseRankings(rounds.flat()).filter(
      (hit) => !seen.has(hit.documentId) && !seen.has(hit.url) && !seen.has(hit.snapshot?.contentHash ?? null),
    );
    const read = await this.sources.readBest(hits, scope.maxSources, signal);
    const fresh = read.snapshots.filter((snapshot) => !seen.has(snapshot.contentHash));
    return {
      sources: fresh.map((snapshot, index) => ({ ...snapshot, n: known.length + index + 1 })),
      queries: queries.length,
      found: hits.length,
      searchFailures,
      readFailures: read.failures,
    };
  }
}

import { TrackResearchTask } from '@app/observability';
import { StoredSource } from '@app/research';
import { SearchHit, SearchProvider } from '@app/search';
import { Injectable } from '@nestjs/common';
import { mapWithConcurrency } from './concurrency';
import { Plan } from './planner.agent';

const SEARCH_CONCURRENCY = 4;
const MAX_QUERIES = 19;
/** Characters of a source the reader gets; what it reads is what is stored and quoted from. */
export const READ_LIMIT_CHARACTERS = 12_000;

interface Candidate {
  hit: SearchHit;
  queries: number;
  bestScore: number;
}

/**
 * Runs the question and the plan's queries on the search provider in parallel, merges the hits
 * (one per document or URL, one per text), and keeps the `maxSources` found by most queries.
 */
@Injectable()
export class Searcher {
  constructor(private readonly provider: SearchProvider) {}

  @TrackResearchTask('searcher')
  async search(
    tenantId: string,
    question: string,
    plan: Plan | null,
    maxSources: number,
    signal: AbortSignal,
  ): Promise<{ sources: StoredSource[]; queries: number }> {
    const queries = [
      ...new Set([question, ...(plan?.subQuestions.flatMap((sub) => sub.queries) ?? [])].map((q) => q.trim())),
    ]
      .filter(Boolean)
      .slice(0, MAX_QUERIES);
    const results = await mapWithConcurrency(queries, SEARCH_CONCURRENCY, (text) =>
      this.provider.search({ tenantId, text, limit: maxSources, signal }),
    );

    const byKey = new Map<string, Candidate>();
    const byHash = new Map<string, Candidate>();
    for (const hits of results) {
      for (const hit of hits) {
        const key = hit.documentId ?? hit.url ?? hit.contentHash;
        const known = byKey.get(key) ?? byHash.get(hit.contentHash);
        if (known) {
          known.queries += 1;
          known.bestScore = Math.max(known.bestScore, hit.score);
          continue;
        }
        const candidate = { hit, queries: 1, bestScore: hit.score };
        byKey.set(key, candidate);
        byHash.set(hit.contentHash, candidate);
      }
    }
    const chosen = [...byKey.values()]
      .sort((a, b) => b.queries - a.queries || b.bestScore - a.bestScore)
      .slice(0, maxSources);
    const sources = chosen.map(({ hit }, index) => ({
      n: index + 1,
      kind: hit.kind,
      documentId: hit.documentId,
      url: hit.url,
      title: hit.title,
      contentHash: hit.contentHash,
      text: hit.text.slice(0, READ_LIMIT_CHARACTERS),
      retrievedAt: hit.retrievedAt,
    }));
    return { sources, queries: queries.length };
  }
}

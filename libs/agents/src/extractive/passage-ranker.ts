import { PassageRules, Sentence, SentenceScan, scanSentences, stem } from '@app/search';

export interface Passage extends Sentence {
  /** Index of the source the passage comes from. */
  sourceIndex: number;
  score: number;
}

export interface RankOptions {
  /** At most this many passages from one source. */
  perSource: number;
  /** At most this many passages in all. */
  total: number;
  /** Passages scoring below this fraction of the best one are left out. */
  minRelativeScore: number;
}

/** Sentences that may be quoted: headings and very long sentences are not. */
export const PASSAGE_RULES: PassageRules = { minWords: 3, maxLength: 600, skipHeadings: true };
const K1 = 1.2;
const B = 0.75;

interface Candidate extends Passage {
  counts: number[];
  length: number;
}

/** The question's terms as the sentence scans count them. */
export function rankingTerms(question: readonly string[]): string[] {
  return [...new Set(question.map(stem))];
}

/**
 * Ranks the sentences of the sources against the question with BM25 over sentences, and keeps
 * the best ones. Every passage is an exact slice of its source text. Scans the sources on the
 * calling thread; the engine scans them in worker threads and calls `choosePassages`.
 */
export function rankPassages(question: string[], sources: readonly string[], options: RankOptions): Passage[] {
  const terms = rankingTerms(question);
  if (terms.length === 0) return [];
  const scans = sources.map((text) => scanSentences({ text, terms, rules: PASSAGE_RULES }));
  return choosePassages(terms, sources, scans, options);
}

/** BM25 over the scanned sentences of every source (`scans[i]` is of `sources[i]`), best first. */
export function choosePassages(
  terms: readonly string[],
  sources: readonly string[],
  scans: readonly SentenceScan[],
  options: RankOptions,
): Passage[] {
  const sentences = scans.reduce((sum, scan) => sum + scan.sentences, 0);
  if (terms.length === 0 || sentences === 0) return [];
  const averageLength = scans.reduce((sum, scan) => sum + scan.words, 0) / sentences;

  const candidates: Candidate[] = scans.flatMap((scan, sourceIndex) =>
    scan.matches.map((match) => ({
      text: (sources[sourceIndex] ?? '').slice(match.start, match.end),
      start: match.start,
      end: match.end,
      sourceIndex,
      score: 0,
      counts: match.counts,
      length: match.length,
    })),
  );
  const idf = terms.map((_, term) => {
    const df = candidates.filter((c) => (c.counts[term] ?? 0) > 0).length;
    return Math.log(1 + (sentences - df + 0.5) / (df + 0.5));
  });
  for (const candidate of candidates) {
    for (let term = 0; term < terms.length; term += 1) {
      const tf = candidate.counts[term] ?? 0;
      if (tf === 0) continue;
      const norm = tf + K1 * (1 - B + (B * candidate.length) / averageLength);
      candidate.score += (idf[term] ?? 0) * ((tf * (K1 + 1)) / norm);
    }
  }

  const ranked = candidates.filter((c) => c.score > 0).sort((a, b) => b.score - a.score || a.start - b.start);
  const best = ranked[0]?.score ?? 0;
  const perSource = new Map<number, number>();
  const seen = new Set<string>();
  const chosen: Passage[] = [];
  for (const candidate of ranked) {
    if (chosen.length >= options.total || candidate.score < best * options.minRelativeScore) break;
    const taken = perSource.get(candidate.sourceIndex) ?? 0;
    const key = candidate.text.normalize('NFKC').toLowerCase();
    if (taken >= options.perSource || seen.has(key)) continue;
    perSource.set(candidate.sourceIndex, taken + 1);
    seen.add(key);
    chosen.push({
      text: candidate.text,
      start: candidate.start,
      end: candidate.end,
      sourceIndex: candidate.sourceIndex,
      score: Math.round(candidate.score * 1000) / 1000,
    });
  }
  return chosen;
}

import { Sentence, segmentWords, splitSentences, stem } from '@app/search';

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

const MIN_WORDS = 3;
const MAX_PASSAGE_LENGTH = 600;
const K1 = 1.2;
const B = 0.75;

interface Candidate extends Passage {
  words: Map<string, number>;
  length: number;
}

/**
 * Ranks the sentences of the sources against the question with BM25 over sentences, and keeps
 * the best ones. Every passage is an exact slice of its source text.
 */
export function rankPassages(question: string[], sources: readonly string[], options: RankOptions): Passage[] {
  const terms = [...new Set(question.map(stem))];
  if (terms.length === 0) return [];

  const candidates: Candidate[] = [];
  sources.forEach((text, sourceIndex) => {
    for (const sentence of splitSentences(text)) {
      if (sentence.text.startsWith('#') || sentence.text.length > MAX_PASSAGE_LENGTH) continue;
      const words = segmentWords(sentence.text).map(stem);
      if (words.length < MIN_WORDS) continue;
      const counts = new Map<string, number>();
      for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
      candidates.push({ ...sentence, sourceIndex, score: 0, words: counts, length: words.length });
    }
  });
  if (candidates.length === 0) return [];

  const averageLength = candidates.reduce((sum, c) => sum + c.length, 0) / candidates.length;
  const idf = new Map(
    terms.map((term) => {
      const df = candidates.filter((c) => c.words.has(term)).length;
      return [term, Math.log(1 + (candidates.length - df + 0.5) / (df + 0.5))];
    }),
  );
  for (const candidate of candidates) {
    for (const term of terms) {
      const tf = candidate.words.get(term) ?? 0;
      if (tf === 0) continue;
      const norm = tf + K1 * (1 - B + (B * candidate.length) / averageLength);
      candidate.score += (idf.get(term) ?? 0) * ((tf * (K1 + 1)) / norm);
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

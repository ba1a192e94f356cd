import { segmentWords, splitSentences, stem, toSearchText } from './segmenter';

/** The text work heavy enough to leave the event loop, run in worker threads (text.worker.ts). */

export interface DocumentText {
  title: string;
  text: string;
}

/** A document's title and text as PostgreSQL indexes them. */
export interface IndexedText {
  searchTitle: string;
  searchText: string;
}

export function indexDocument({ title, text }: DocumentText): IndexedText {
  return { searchTitle: toSearchText(title), searchText: toSearchText(text) };
}

/** Which sentences may be quoted as passages. */
export interface PassageRules {
  minWords: number;
  maxLength: number;
  /** Markdown headings name a section; they state nothing. */
  skipHeadings: boolean;
}

export interface SentenceScanInput {
  text: string;
  /** Stemmed terms. */
  terms: readonly string[];
  rules: PassageRules;
}

/** A passage sentence containing at least one term. */
export interface TermMatch {
  start: number;
  end: number;
  /** Its words. */
  length: number;
  /** How often each term occurs in it, in the order of the terms. */
  counts: number[];
}

/**
 * What BM25 over sentences needs from one document, small enough to send back from a thread:
 * sentences without any term score nothing and are only counted.
 */
export interface SentenceScan {
  /** Sentences that may be passages. */
  sentences: number;
  /** Their words in all. */
  words: number;
  matches: TermMatch[];
}

export function scanSentences({ text, terms, rules }: SentenceScanInput): SentenceScan {
  const scan: SentenceScan = { sentences: 0, words: 0, matches: [] };
  for (const sentence of splitSentences(text)) {
    if (sentence.text.length > rules.maxLength || (rules.skipHeadings && sentence.text.startsWith('#'))) continue;
    const words = segmentWords(sentence.text).map(stem);
    if (words.length < rules.minWords) continue;
    scan.sentences += 1;
    scan.words += words.length;
    const occurrences = new Map<string, number>();
    for (const word of words) occurrences.set(word, (occurrences.get(word) ?? 0) + 1);
    const counts = terms.map((term) => occurrences.get(term) ?? 0);
    if (counts.some((count) => count > 0))
      scan.matches.push({ start: sentence.start, end: sentence.end, length: words.length, counts });
  }
  return scan;
}

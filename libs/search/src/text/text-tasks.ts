import { PdfDocument, ReadablePage, readHtml, readPdf } from '../pages/page-reader';
import { PassageLimits, RankedPassage, choosePassages, splitPassages } from './passages';
import { segmentWords, splitSentences, stem, toSearchText } from './segmenter';

/** The text work heavy enough to leave the event loop, run in worker threads (text.worker.ts). */

export interface DocumentText {
  title: string;
  text: string;
  /** How the text is cut into the passages that are indexed. */
  passages: PassageLimits;
}

/** A passage as PostgreSQL indexes it: where it is in the text, and its words. */
export interface IndexedPassage {
  start: number;
  end: number;
  searchText: string;
}

/** A document's title and passages as PostgreSQL indexes them (words separated by spaces). */
export interface IndexedText {
  searchTitle: string;
  passages: IndexedPassage[];
}

export function indexDocument({ title, text, passages }: DocumentText): IndexedText {
  return {
    searchTitle: toSearchText(title),
    passages: splitPassages(text, passages).map(({ start, end }) => ({
      start,
      end,
      searchText: toSearchText(text.slice(start, end)),
    })),
  };
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

/** An HTML document to read: a fetched page, an uploaded file. */
export interface HtmlDocument {
  html: string;
  /** The title when the document names none: its URL or file name. */
  fallbackTitle: string;
}

/** The readable text of an HTML document (Readability on linkedom), off the event loop. */
export function extractHtml({ html, fallbackTitle }: HtmlDocument): ReadablePage {
  return readHtml(html, fallbackTitle);
}

/** The text of a PDF, off the event loop. */
export function extractPdf(input: PdfDocument): Promise<ReadablePage> {
  return readPdf(input);
}

/** A long text, and what its passages are chosen for: the questions, and how many tokens may be read. */
export interface PassageChoiceInput {
  text: string;
  questions: string[];
  limits: PassageLimits;
  budget: number;
}

/** The passages of a long text most relevant to the questions, within the budget (`choosePassages`). */
export function rankPassages({ text, questions, limits, budget }: PassageChoiceInput): RankedPassage[] {
  return choosePassages(text, questions, limits, budget);
}

/**
 * Word segmentation for indexing and matching. PostgreSQL's text search parser does not split
 * Chinese or Japanese into words; ICU's word segmenter (Intl.Segmenter) does, with a dictionary.
 * Documents and questions go through the same function, so their words line up. Long texts are
 * segmented piece by piece (see text-pieces.ts), which keeps the time linear in their length.
 */
import { textPieces } from './text-pieces';

const wordSegmenter = new Intl.Segmenter(undefined, { granularity: 'word' });
const sentenceSegmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/;

/** Function words of Chinese that match nearly every document; English ones PostgreSQL drops itself. */
const CJK_STOPWORDS = new Set([
  '的',
  '了',
  '是',
  '在',
  '和',
  '與',
  '与',
  '及',
  '或',
  '之',
  '以',
  '為',
  '为',
  '於',
  '于',
  '其',
  '也',
  '就',
  '都',
  '而',
  '這',
  '这',
  '那',
  '個',
  '个',
  '嗎',
  '吗',
  '呢',
  '吧',
  '有',
  '對',
  '对',
  '把',
  '被',
  '從',
  '从',
  '到',
  '中的',
  '年',
  '月',
  '什麼',
  '什么',
  '如何',
  '怎麼',
  '怎么',
  '哪些',
  '分析',
]);
const ENGLISH_STOPWORDS = new Set([
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'by',
  'do',
  'does',
  'for',
  'from',
  'how',
  'in',
  'is',
  'it',
  'of',
  'on',
  'or',
  'that',
  'the',
  'this',
  'to',
  'was',
  'what',
  'when',
  'where',
  'which',
  'who',
  'why',
  'with',
  'not',
  'no',
]);

export interface Sentence {
  text: string;
  start: number;
  end: number;
}

/** The words of a text, lower-cased and NFKC-normalised (full-width letters become ASCII). */
export function segmentWords(text: string): string[] {
  const normalized = text.normalize('NFKC').toLowerCase();
  const words: string[] = [];
  for (const { start, end } of textPieces(normalized)) {
    for (const { segment, isWordLike } of wordSegmenter.segment(normalized.slice(start, end))) {
      if (isWordLike) words.push(segment);
    }
  }
  return words;
}

/** The text as PostgreSQL should index it: its words separated by spaces. */
export function toSearchText(text: string): string {
  return segmentWords(text).join(' ');
}

/** The distinct words of a question worth searching for. */
export function queryTerms(question: string, limit = 64): string[] {
  const terms = new Set<string>();
  for (const word of segmentWords(question)) {
    if (CJK_STOPWORDS.has(word) || ENGLISH_STOPWORDS.has(word)) continue;
    if (!CJK.test(word) && word.length < 2 && !/\d/.test(word)) continue;
    terms.add(word);
    if (terms.size >= limit) break;
  }
  return [...terms];
}

/** A crude English stem so that "chips" matches "chip"; other scripts are left alone. */
export function stem(word: string): string {
  if (!/^[a-z]+$/.test(word) || word.length <= 4) return word;
  for (const [suffix, replacement] of [
    ['ies', 'y'],
    ['sses', 'ss'],
    ['ing', ''],
    ['ed', ''],
    ['es', ''],
    ['s', ''],
  ] as const) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) return word.slice(0, -suffix.length) + replacement;
  }
  return word;
}

/** The sentences of a text with their offsets, whitespace trimmed: `text.slice(start, end) === sentence.text`. */
export function splitSentences(text: string): Sentence[] {
  const sentences: Sentence[] = [];
  for (const piece of textPieces(text)) {
    for (const { segment, index } of sentenceSegmenter.segment(text.slice(piece.start, piece.end))) {
      splitLines(segment, piece.start + index, sentences);
    }
  }
  return sentences;
}

/** A sentence segment may span line breaks (headings, list items): split on them too. */
function splitLines(segment: string, index: number, sentences: Sentence[]): void {
  let offset = index;
  for (const line of segment.split(/(\n+)/)) {
    const leading = line.length - line.trimStart().length;
    const trimmed = line.trim();
    if (trimmed.length > 0)
      sentences.push({ text: trimmed, start: offset + leading, end: offset + leading + trimmed.length });
    offset += line.length;
  }
}

export function containsCjk(text: string): boolean {
  return CJK.test(text);
}

import type { PassageSettings } from '@app/config';
import { Sentence, queryTerms, segmentWords, splitSentences, stem } from './segmenter';

/** A passage of a text: `text.slice(start, end)`. */
export interface PassageSpan {
  start: number;
  end: number;
}

/** `size`: most characters in a passage; `overlap`: most it repeats from the one before, in whole sentences. */
export type PassageLimits = Pick<PassageSettings, 'size' | 'overlap'>;

/**
 * The passages of a text, in order: runs of whole sentences (Intl.Segmenter's, so Chinese and
 * Japanese sentences end at 。！？ as English ones at . ! ?) of at most `size` characters. Each
 * passage after the first starts with the last sentences of the one before, up to `overlap`
 * characters, so a fact that spans a boundary is whole in one of them. A sentence longer than
 * `size` is cut, at a space when there is one.
 */
export function splitPassages(text: string, { size, overlap }: PassageLimits): PassageSpan[] {
  const sentences = splitSentences(text).flatMap((sentence) => cutLong(text, sentence, size));
  const passages: PassageSpan[] = [];
  let first = 0;
  while (first < sentences.length) {
    const start = sentences[first]!.start;
    let last = first;
    while (last + 1 < sentences.length && sentences[last + 1]!.end - start <= size) last += 1;
    const end = sentences[last]!.end;
    passages.push({ start, end });
    if (last + 1 >= sentences.length) break;
    // The next passage starts with the sentences that end this one, within `overlap`.
    let next = last + 1;
    while (next - 1 > first && end - sentences[next - 1]!.start <= overlap) next -= 1;
    first = next;
  }
  return passages;
}

/** Pieces of a sentence of at most `size` characters, cut after a space where possible, never inside a surrogate pair. */
function cutLong(text: string, sentence: Sentence, size: number): Sentence[] {
  if (sentence.end - sentence.start <= size) return [sentence];
  const pieces: Sentence[] = [];
  let start = sentence.start;
  while (sentence.end - start > size) {
    let cut = start + size;
    const space = text.lastIndexOf(' ', cut - 1);
    if (space > start + size / 2) cut = space + 1;
    else if (isLowSurrogate(text.charCodeAt(cut))) cut -= 1;
    pieces.push({
      text: text.slice(start, cut).trimEnd(),
      start,
      end: start + text.slice(start, cut).trimEnd().length,
    });
    start = cut;
    while (start < sentence.end && /\s/.test(text[start]!)) start += 1;
  }
  if (start < sentence.end) pieces.push({ text: text.slice(start, sentence.end), start, end: sentence.end });
  return pieces;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

export interface RankedPassage extends PassageSpan {
  score: number;
}

/**
 * About how many tokens a model's tokenizer makes of a text: a CJK character is about one, other
 * text about four characters a token. Close enough to fill a context without overflowing it.
 */
export function estimateTokens(text: string): number {
  const cjk = text.match(CJK_CHARACTERS)?.length ?? 0;
  return cjk + Math.ceil((text.length - cjk) / 4);
}

const CJK_CHARACTERS = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/g;

/**
 * The passages of a text most relevant to some questions, within `budget` tokens (as
 * `estimateTokens` counts them), in the order of the text. A passage scores by the questions' words it holds, each weighed by how rare
 * it is among the passages (a word in every passage tells nothing) and counted with diminishing
 * returns. When no passage holds a word of the questions, the text is read from its start.
 */
export function choosePassages(
  text: string,
  questions: readonly string[],
  settings: PassageLimits,
  budget: number,
): RankedPassage[] {
  if (estimateTokens(text) <= budget) return text.length > 0 ? [{ start: 0, end: text.length, score: 0 }] : [];
  const passages = splitPassages(text, settings);
  const terms = [...new Set(questions.flatMap((question) => queryTerms(question)).map(stem))];
  const words = passages.map((passage) => wordCounts(text.slice(passage.start, passage.end)));
  const rarity = new Map(
    terms.map((term) => {
      const holding = words.filter((counts) => counts.has(term)).length;
      return [term, Math.log(1 + (passages.length - holding + 0.5) / (holding + 0.5))];
    }),
  );
  const ranked = passages.map((passage, index) => ({
    ...passage,
    index,
    score: terms.reduce((sum, term) => {
      const count = words[index]!.get(term) ?? 0;
      return count > 0 ? sum + (rarity.get(term) ?? 0) * (1 + Math.log(count)) : sum;
    }, 0),
  }));
  const order = ranked.some((passage) => passage.score > 0)
    ? [...ranked].sort((a, b) => b.score - a.score || a.index - b.index)
    : ranked;
  const chosen: typeof ranked = [];
  let used = 0;
  for (const passage of order) {
    // Past the passages that hold a word of the questions, the rest are not read.
    if (passage.score === 0 && order !== ranked) break;
    const tokens = estimateTokens(text.slice(passage.start, passage.end));
    if (used + tokens > budget) continue;
    chosen.push(passage);
    used += tokens;
  }
  return mergeOverlaps(chosen.sort((a, b) => a.start - b.start));
}

/** Passages that overlap (neighbours share their overlap) become one, so no text is read twice. */
function mergeOverlaps(passages: (RankedPassage & { index: number })[]): RankedPassage[] {
  const merged: RankedPassage[] = [];
  for (const { start, end, score } of passages) {
    const previous = merged.at(-1);
    if (previous && start <= previous.end) {
      previous.end = Math.max(previous.end, end);
      previous.score = Math.max(previous.score, score);
    } else {
      merged.push({ start, end, score });
    }
  }
  return merged;
}

function wordCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of segmentWords(text)) {
    const key = stem(word);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * V8 walks an Intl.Segmenter over a string in time that grows faster than its length: 20,000
 * English words in one string take seconds, 40,000 tens of seconds, while the same words a line
 * at a time take milliseconds. So text is segmented in pieces of bounded length, cut where the
 * segmenters would break anyway, which keeps the result that of the whole text; only a sentence
 * longer than a piece comes out cut in two (and, in Chinese without punctuation, the word at the
 * cut).
 */
export const MAX_PIECE_LENGTH = 1024;

/**
 * ICU's sentence rules look a few characters past a break before confirming it ("e.g. the" is
 * not a break, "end. The" is), so sentence ends are looked for in a window this much longer than
 * the piece.
 */
const LOOKAHEAD = 64;

const sentenceSegmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });

export interface Piece {
  start: number;
  end: number;
}

/**
 * Consecutive pieces covering the whole text, none longer than `maxLength`. A piece ends, by
 * preference, after the last line break that fits (whole lines are packed together); else at the
 * last sentence end; else after the last whitespace; else it is cut at `maxLength` (a run of
 * Chinese without punctuation), never inside a surrogate pair or before a combining mark.
 */
export function textPieces(text: string, maxLength = MAX_PIECE_LENGTH): Piece[] {
  const pieces: Piece[] = [];
  let start = 0;
  while (text.length - start > maxLength) {
    const window = text.slice(start, start + maxLength);
    const cut =
      lastLineEnd(window) ??
      lastSentenceEnd(text.slice(start, start + maxLength + LOOKAHEAD), maxLength) ??
      lastWhitespaceEnd(window) ??
      hardCut(text, start, maxLength);
    pieces.push({ start, end: start + cut });
    start += cut;
  }
  if (start < text.length) pieces.push({ start, end: text.length });
  return pieces;
}

function lastLineEnd(window: string): number | undefined {
  const newline = window.lastIndexOf('\n');
  return newline === -1 ? undefined : newline + 1;
}

function lastSentenceEnd(window: string, maxLength: number): number | undefined {
  let last: number | undefined;
  for (const { index } of sentenceSegmenter.segment(window)) {
    if (index > maxLength) break;
    if (index > 0) last = index;
  }
  return last;
}

function lastWhitespaceEnd(window: string): number | undefined {
  for (let cut = window.length; cut > 0; cut -= 1) {
    if (/\s/.test(window.charAt(cut - 1))) return cut;
  }
  return undefined;
}

const COMBINING_MARK = /\p{M}/u;

function hardCut(text: string, start: number, maxLength: number): number {
  let cut = maxLength;
  const splits = (at: number) => isLowSurrogate(text.charCodeAt(at)) || COMBINING_MARK.test(text.charAt(at));
  while (cut > 1 && splits(start + cut)) cut -= 1;
  return cut;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

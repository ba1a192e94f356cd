/**
 * Grounding checks in code: a quote must be in its source's text, and a report may only cite
 * stored sources through findings of those sources.
 */

export interface QuoteLocation {
  start: number;
  end: number;
  /** The source text at those offsets: the quote as the source writes it. */
  text: string;
}

const MIN_QUOTE_CHARACTERS = 12;
const MIN_CJK_QUOTE_CHARACTERS = 6;
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]/;

/**
 * Where `quote` occurs in `text` when runs of whitespace count as one space, with offsets in the
 * original text; null when it does not occur, or is too short to mean anything.
 */
export function locateQuote(text: string, quote: string): QuoteLocation | null {
  const wanted = quote.replace(/\s+/g, ' ').trim();
  const minimum = CJK.test(wanted) ? MIN_CJK_QUOTE_CHARACTERS : MIN_QUOTE_CHARACTERS;
  if ([...wanted].length < minimum) return null;

  // The text with whitespace runs collapsed, and for each of its characters the original offset.
  let normalized = '';
  const offsets: number[] = [];
  let inSpace = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (/\s/.test(char)) {
      if (!inSpace && normalized.length > 0) {
        normalized += ' ';
        offsets.push(i);
      }
      inSpace = true;
      continue;
    }
    inSpace = false;
    normalized += char;
    offsets.push(i);
  }
  const at = normalized.indexOf(wanted);
  if (at === -1) return null;
  const start = offsets[at] as number;
  const end = (offsets[at + wanted.length - 1] as number) + 1;
  return { start, end, text: text.slice(start, end) };
}

/** Every `[n]` citation of a Markdown text, in order. */
export function citationsIn(text: string): number[] {
  return [...text.matchAll(/(?<!\\)\[(\d+)\](?!\()/g)].map((match) => Number(match[1]));
}

export interface CitedSentence {
  text: string;
  /** Source numbers the rendered sentence cites. */
  sources: number[];
  /** Source numbers of the findings the sentence rests on. */
  findingSources: number[];
}

/**
 * Problems of a rendered report: a citation to a source that is not stored, or a sentence
 * citing a source none of its findings comes from. An empty list means the report may be stored.
 */
export function reportProblems(report: string, sourceCount: number, sentences: CitedSentence[]): string[] {
  const problems: string[] = [];
  for (const n of citationsIn(report)) {
    if (n < 1 || n > sourceCount) problems.push(`[${n}] cites no stored source`);
  }
  for (const sentence of sentences) {
    for (const n of sentence.sources) {
      if (!sentence.findingSources.includes(n)) {
        problems.push(`"${sentence.text.slice(0, 60)}" cites [${n}] without a finding from it`);
      }
    }
  }
  return problems;
}

/**
 * `{name}` placeholders of a rendered report that none of the verbatim texts (the question,
 * quotes, titles) contains: wording that was never filled in.
 */
export function templateLeftovers(report: string, verbatim: readonly string[]): string[] {
  const tokens = new Set(report.match(/\{[A-Za-z_]\w*\}/g) ?? []);
  return [...tokens].filter((token) => !verbatim.some((text) => text.includes(token)));
}

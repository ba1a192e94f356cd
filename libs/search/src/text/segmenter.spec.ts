import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { queryTerms, segmentWords, splitSentences, stem, toSearchText } from './segmenter';
import { MAX_PIECE_LENGTH } from './text-pieces';

/** Segmentation of the whole text at once, as it was done before texts were cut into pieces. */
function wholeTextWords(text: string): string[] {
  const segments = new Intl.Segmenter(undefined, { granularity: 'word' }).segment(text.normalize('NFKC').toLowerCase());
  return [...segments].filter((s) => s.isWordLike).map((s) => s.segment);
}

function wholeTextSentences(text: string): { text: string; start: number; end: number }[] {
  const sentences = [];
  for (const { segment, index } of new Intl.Segmenter(undefined, { granularity: 'sentence' }).segment(text)) {
    let offset = index;
    for (const line of segment.split(/(\n+)/)) {
      const leading = line.length - line.trimStart().length;
      const trimmed = line.trim();
      if (trimmed.length > 0)
        sentences.push({ text: trimmed, start: offset + leading, end: offset + leading + trimmed.length });
      offset += line.length;
    }
  }
  return sentences;
}

/**
 * Ordinary English and Chinese text several pieces long: the example corpus as it is, and each
 * of its files again as one paragraph on a single line, four times over.
 */
function ordinaryText(): string {
  const folder = join(__dirname, '..', '..', '..', '..', 'examples', 'corpus');
  const files = readdirSync(folder).map((name) => readFileSync(join(folder, name), 'utf8'));
  const paragraphs = files.map((text) =>
    Array(4)
      .fill(text.replace(/\s*\n\s*/g, ' ').trim())
      .join(' '),
  );
  return [...files, ...paragraphs].join('\n\n');
}

describe('segmenter', () => {
  it('splits Chinese text into words, which PostgreSQL cannot do', () => {
    expect(segmentWords('全球AI晶片市場')).toEqual(['全球', 'ai', '晶片', '市場']);
    expect(toSearchText('台積電的先進封裝產能')).toContain('先進');
  });

  it('normalises full-width letters and case', () => {
    expect(segmentWords('ＡＩ Chips')).toEqual(['ai', 'chips']);
  });

  it('drops function words and keeps meaningful ones, numbers included', () => {
    expect(queryTerms('2024年全球AI晶片市場分析')).toEqual(['2024', '全球', 'ai', '晶片', '市場']);
    expect(queryTerms('What is the market share of NVIDIA in AI chips?')).toEqual([
      'market',
      'share',
      'nvidia',
      'ai',
      'chips',
    ]);
  });

  it('stems common English endings only', () => {
    expect(['chips', 'accelerators', 'supplies', 'limited', 'packaging', 'gas', '晶片'].map(stem)).toEqual([
      'chip',
      'accelerator',
      'supply',
      'limit',
      'packag',
      'gas',
      '晶片',
    ]);
  });

  it('returns sentences with offsets that slice back to the exact text', () => {
    const text = '# Title\nFirst sentence here.  Second one!\n\n台積電是晶圓代工廠。輝達設計晶片。';
    const sentences = splitSentences(text);
    expect(sentences.map((s) => s.text)).toEqual([
      '# Title',
      'First sentence here.',
      'Second one!',
      '台積電是晶圓代工廠。',
      '輝達設計晶片。',
    ]);
    for (const sentence of sentences) expect(text.slice(sentence.start, sentence.end)).toBe(sentence.text);
  });

  it('gives the same words and sentences as segmenting the whole text at once', () => {
    const text = ordinaryText();
    expect(text.length).toBeGreaterThan(5 * MAX_PIECE_LENGTH);
    expect(text.split('\n').some((line) => line.length > 2 * MAX_PIECE_LENGTH)).toBe(true);
    expect(segmentWords(text)).toEqual(wholeTextWords(text));
    expect(splitSentences(text)).toEqual(wholeTextSentences(text));
  });

  it('splits a 1 MiB line without punctuation into sentences no longer than a piece, at exact offsets', () => {
    const text = '人工智慧晶片的需求持續成長而先進封裝產能仍然不足'.repeat(14_564);
    expect(Buffer.byteLength(text)).toBeGreaterThanOrEqual(1024 * 1024);
    const sentences = splitSentences(text);
    expect(sentences.map((s) => s.text).join('')).toBe(text);
    for (const sentence of sentences) {
      expect(text.slice(sentence.start, sentence.end)).toBe(sentence.text);
      expect(sentence.text.length).toBeLessThanOrEqual(MAX_PIECE_LENGTH);
    }
  });

  it('finds every word of a 1 MiB line of English without punctuation', () => {
    const words = Array.from({ length: 164_000 }, (_, i) => ['market', 'chip', 'supply', 'memory', 'wafer'][i % 5]);
    const text = words.join(' ');
    expect(Buffer.byteLength(text)).toBeGreaterThanOrEqual(1024 * 1024);
    expect(segmentWords(text)).toEqual(words);
  });
});

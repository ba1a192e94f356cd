import { choosePassages, estimateTokens, splitPassages } from './passages';
import { splitSentences } from './segmenter';

const filler = (i: number) => `Paragraph ${i} talks about the weather in a small town and nothing else of note.`;
const longText = (fact: string, at: number, count = 600) =>
  Array.from({ length: count }, (_, i) => (i === at ? fact : filler(i))).join(' ');

describe('splitPassages', () => {
  it('cuts on sentence boundaries into passages of at most `size`, each starting with the end of the one before', () => {
    const text = longText('HBM supply was short in 2024.', 10, 40);
    const passages = splitPassages(text, { size: 400, overlap: 120 });
    const sentences = splitSentences(text);
    const starts = new Set(sentences.map((s) => s.start));
    const ends = new Set(sentences.map((s) => s.end));
    expect(passages.length).toBeGreaterThan(5);
    for (const [index, passage] of passages.entries()) {
      expect(passage.end - passage.start).toBeLessThanOrEqual(400);
      expect(starts.has(passage.start)).toBe(true);
      expect(ends.has(passage.end)).toBe(true);
      const previous = passages[index - 1];
      if (previous) {
        // They overlap, by whole sentences, by no more than `overlap`, and move forward.
        expect(passage.start).toBeLessThan(previous.end);
        expect(previous.end - passage.start).toBeLessThanOrEqual(120);
        expect(passage.start).toBeGreaterThan(previous.start);
      }
    }
    // Together they hold every sentence whole.
    for (const sentence of sentences) {
      expect(passages.some((p) => p.start <= sentence.start && sentence.end <= p.end)).toBe(true);
    }
  });

  it('splits Chinese at its sentence marks, and cuts a sentence longer than a passage', () => {
    const chinese = '台積電在2024年擴充了CoWoS產能。'.repeat(30) + '高頻寬記憶體供不應求！';
    const passages = splitPassages(chinese, { size: 100, overlap: 20 });
    for (const passage of passages) {
      expect(passage.end - passage.start).toBeLessThanOrEqual(100);
      expect(/[。！]$/.test(chinese.slice(passage.start, passage.end))).toBe(true);
    }
    expect(chinese.slice(passages.at(-1)!.start, passages.at(-1)!.end)).toContain('高頻寬記憶體供不應求！');

    const run = 'word '.repeat(100).trim() + '.';
    const cut = splitPassages(run, { size: 60, overlap: 0 });
    expect(cut.length).toBeGreaterThan(5);
    for (const passage of cut) {
      expect(passage.end - passage.start).toBeLessThanOrEqual(60);
      expect(run.slice(passage.start, passage.end)).toMatch(/^word/);
    }
    // Never between the halves of a surrogate pair.
    const emoji = '😀'.repeat(80);
    for (const passage of splitPassages(emoji, { size: 25, overlap: 0 })) {
      expect(emoji.slice(passage.start, passage.end)).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
  });
});

describe('choosePassages', () => {
  it('finds a fact deep in a long text, within the budget, with offsets into the whole text', () => {
    const fact = 'SK hynix shipped the most HBM in 2024, ahead of Samsung.';
    const text = longText(fact, 540);
    expect(text.length).toBeGreaterThan(45_000);
    const chosen = choosePassages(text, ['Who shipped the most HBM in 2024?'], { size: 1000, overlap: 150 }, 750);
    const read = chosen.map((p) => text.slice(p.start, p.end)).join('\n');
    expect(read).toContain(fact);
    expect(estimateTokens(read)).toBeLessThanOrEqual(750 + chosen.length);
    expect(text.indexOf(fact)).toBeGreaterThan(40_000);
    // In the order of the text, none read twice.
    for (let i = 1; i < chosen.length; i += 1) expect(chosen[i]!.start).toBeGreaterThan(chosen[i - 1]!.end);
  });

  it('weighs rare words over common ones, and reads from the start when nothing matches', () => {
    const text = [
      'The market grew in 2024. The market was large. The market was busy.',
      'Memory makers were busy. The market in 2024 was about memory.',
      'Only this paragraph names CoWoS packaging as the bottleneck of the market.',
    ].join('\n\n');
    const [best] = choosePassages(text, ['What was the CoWoS bottleneck of the market?'], { size: 80, overlap: 0 }, 20);
    expect(text.slice(best!.start, best!.end)).toContain('CoWoS');

    const none = choosePassages(text, ['quantum chromodynamics'], { size: 80, overlap: 0 }, 25);
    expect(none[0]!.start).toBe(0);

    // A text that fits is read whole.
    expect(choosePassages(text, ['CoWoS'], { size: 80, overlap: 0 }, 1000)).toEqual([
      { start: 0, end: text.length, score: 0 },
    ]);
  });
});

describe('estimateTokens', () => {
  it('counts a CJK character as a token and other text as four characters a token', () => {
    expect(estimateTokens('abcdefgh')).toBe(2);
    expect(estimateTokens('高頻寬記憶體')).toBe(6);
    expect(estimateTokens('HBM 高頻寬')).toBe(4);
  });
});

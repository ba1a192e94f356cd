import { indexDocument, rankPassages, scanSentences } from './text-tasks';

describe('text tasks', () => {
  it('indexes a title, and a text passage by passage, as space-separated words with their offsets', () => {
    expect(
      indexDocument({ title: 'ＡＩ 晶片', text: 'HBM limited AI chips.', passages: { size: 200, overlap: 20 } }),
    ).toEqual({
      searchTitle: 'ai 晶片',
      passages: [{ start: 0, end: 21, searchText: 'hbm limited ai chips' }],
    });
    const text = '台積電擴充了CoWoS產能。高頻寬記憶體供不應求。SK hynix led HBM supply.';
    const { passages } = indexDocument({ title: 't', text, passages: { size: 16, overlap: 0 } });
    expect(passages.map((p) => text.slice(p.start, p.end))).toEqual([
      '台積電擴充了CoWoS產能。',
      '高頻寬記憶體供不應求。',
      // A sentence longer than a passage is cut at a space.
      'SK hynix led',
      'HBM supply.',
    ]);
    expect(passages[1]!.searchText.split(' ').length).toBeGreaterThan(1);
  });

  it('counts the passage sentences and returns those with a term, with each term counted', () => {
    const text = [
      '# AI chips',
      'HBM limited AI chip supply, and AI chip demand grew.',
      'Too short.',
      'Coffee is brewed with hot water.',
      `A chip ${'word '.repeat(200)}too long to quote.`,
    ].join('\n');
    const scan = scanSentences({
      text,
      terms: ['chip', 'hbm'],
      rules: { minWords: 3, maxLength: 600, skipHeadings: true },
    });
    expect(scan.sentences).toBe(2);
    expect(scan.words).toBe(10 + 6);
    expect(scan.matches).toHaveLength(1);
    const [match] = scan.matches;
    expect(text.slice(match?.start, match?.end)).toBe('HBM limited AI chip supply, and AI chip demand grew.');
    expect(match).toMatchObject({ length: 10, counts: [2, 1] });
  });

  it('chooses, off the event loop, the passages of a long text that hold the words of the questions', () => {
    const filler = 'Weather reports filled the page that week. '.repeat(200);
    const fact = 'SK hynix led HBM supply in 2024.';
    const text = `${filler}${fact} ${filler}`;
    const chosen = rankPassages({
      text,
      questions: ['Who led HBM supply?'],
      limits: { size: 400, overlap: 40 },
      budget: 200,
    });
    expect(chosen.length).toBeGreaterThan(0);
    expect(chosen.some((p) => text.slice(p.start, p.end).includes(fact))).toBe(true);
    // Far less than the whole text is read.
    expect(chosen.reduce((sum, p) => sum + p.end - p.start, 0)).toBeLessThan(text.length / 4);
  });
});

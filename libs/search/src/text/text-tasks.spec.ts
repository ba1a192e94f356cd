import { indexDocument, scanSentences } from './text-tasks';

describe('text tasks', () => {
  it('indexes a title and a text as space-separated words', () => {
    expect(indexDocument({ title: 'ＡＩ 晶片', text: 'HBM limited AI chips.' })).toEqual({
      searchTitle: 'ai 晶片',
      searchText: 'hbm limited ai chips',
    });
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
});

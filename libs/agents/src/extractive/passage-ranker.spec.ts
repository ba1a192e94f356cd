import { queryTerms } from '@app/search';
import { rankPassages } from './passage-ranker';

const options = { perSource: 2, total: 5, minRelativeScore: 0.3 };

describe('rankPassages', () => {
  const sources = [
    'HBM limited AI chip shipments in 2024. The weather was fine. HBM is stacked memory for AI chips.',
    'CoWoS packaging capacity at TSMC limited AI chip supply in 2024. Packaging joins dies.',
    'Coffee is brewed with hot water and ground beans.',
  ];

  it('keeps the passages that answer the question, best first, as exact slices', () => {
    const passages = rankPassages(queryTerms('What limited AI chip supply in 2024?'), sources, options);
    expect(passages.length).toBeGreaterThan(0);
    expect(passages[0]?.text).toBe('CoWoS packaging capacity at TSMC limited AI chip supply in 2024.');
    for (const passage of passages) {
      expect(sources[passage.sourceIndex]?.slice(passage.start, passage.end)).toBe(passage.text);
    }
    const scores = passages.map((p) => p.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(passages.some((p) => p.sourceIndex === 2)).toBe(false);
    expect(passages.some((p) => p.text === 'The weather was fine.')).toBe(false);
  });

  it('respects the per-source and total bounds', () => {
    const source = (n: number) => Array.from({ length: 10 }, (_, i) => `AI chip fact ${n}-${i} here.`).join(' ');
    const three = [source(1), source(2), source(3)];
    expect(rankPassages(queryTerms('AI chip'), three, { ...options, perSource: 3, total: 20 })).toHaveLength(9);
    expect(rankPassages(queryTerms('AI chip'), three, { ...options, perSource: 3, total: 4 })).toHaveLength(4);
    const onePerSource = rankPassages(queryTerms('AI chip'), three, { ...options, perSource: 1, total: 20 });
    expect(onePerSource.map((p) => p.sourceIndex).sort()).toEqual([0, 1, 2]);
  });

  it('does not repeat the same sentence found in two sources', () => {
    const passages = rankPassages(queryTerms('HBM memory AI'), [sources[0]!, sources[0]!], options);
    const texts = passages.map((p) => p.text);
    expect(new Set(texts).size).toBe(texts.length);
  });

  it('finds Chinese passages for a Chinese question', () => {
    const passages = rankPassages(
      queryTerms('AI晶片的供應瓶頸是什麼'),
      ['台積電的 CoWoS 先進封裝產能是 AI 晶片供應的主要瓶頸。夜市有很多小吃。'],
      options,
    );
    expect(passages.map((p) => p.text)).toEqual(['台積電的 CoWoS 先進封裝產能是 AI 晶片供應的主要瓶頸。']);
  });

  it('returns nothing when no term matches or there are no terms', () => {
    expect(rankPassages(queryTerms('quantum chromodynamics'), sources, options)).toEqual([]);
    expect(rankPassages([], sources, options)).toEqual([]);
  });
});

import { queryTerms, segmentWords, splitSentences, stem, toSearchText } from './segmenter';

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
});

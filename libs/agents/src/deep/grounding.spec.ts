import { citationsIn, locateQuote, reportProblems, templateLeftovers } from './grounding';

describe('locateQuote', () => {
  const text = 'Demand grew in 2024.\n  NVIDIA   supplied most\naccelerators sold in 2024. Other text.';

  it('finds a quote whose whitespace differs, with offsets into the original text', () => {
    const found = locateQuote(text, 'NVIDIA supplied most accelerators sold in 2024.');
    expect(found).not.toBeNull();
    expect(text.slice(found!.start, found!.end)).toBe('NVIDIA   supplied most\naccelerators sold in 2024.');
    expect(found!.text).toBe(text.slice(found!.start, found!.end));
  });

  it('finds Chinese quotes', () => {
    const chinese = '市場分析普遍認為，輝達在資料中心 AI 加速器市場的市佔率超過八成。';
    const found = locateQuote(`前文。${chinese}後文。`, chinese);
    expect(found?.text).toBe(chinese);
  });

  it('refuses quotes that are not in the text, paraphrased, or too short to mean anything', () => {
    expect(locateQuote(text, 'NVIDIA supplied nearly all accelerators sold in 2024.')).toBeNull();
    expect(locateQuote(text, 'in 2024')).toBeNull();
    expect(locateQuote(text, '   ')).toBeNull();
  });
});

describe('report checks', () => {
  it('reads citations but not links or escaped brackets', () => {
    expect(citationsIn('One [1][2]. A [link](http://x) and \\[3\\] and [4].')).toEqual([1, 2, 4]);
  });

  it('flags citations to sources that do not exist and sentences citing without a finding', () => {
    const report = '# Q\n\nA [1]. B [3].';
    expect(
      reportProblems(report, 2, [
        { text: 'A', sources: [1], findingSources: [1] },
        { text: 'B', sources: [2], findingSources: [1] },
      ]),
    ).toEqual(['[3] cites no stored source', '"B" cites [2] without a finding from it']);
    expect(reportProblems('# Q\n\nA [1].', 1, [{ text: 'A', sources: [1], findingSources: [1] }])).toEqual([]);
  });
});

describe('templateLeftovers', () => {
  it('finds placeholders that no verbatim text explains', () => {
    const report = '# Q\n\nOnly {found} of the sources hold evidence, fewer than {required}.\n';
    expect(templateLeftovers(report, ['Q'])).toEqual(['{found}', '{required}']);
  });

  it('accepts braces that a quote, a title or the question brings', () => {
    const report = '# How does {name} work?\n\n- “Use the {name} variable here.” [1]\n';
    expect(templateLeftovers(report, ['How does {name} work?', 'Use the {name} variable here.'])).toEqual([]);
    expect(templateLeftovers('a JSON object like {"a": 1} is not a placeholder', [])).toEqual([]);
  });
});

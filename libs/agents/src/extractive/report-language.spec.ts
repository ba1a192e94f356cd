import { inRequestedLanguage, inRequestedScript, reportWording, simplifiedCharacters } from './report-language';

describe('reportWording', () => {
  it.each([
    ['zh-TW', '研究發現'],
    ['zh-HK', '研究發現'],
    ['zh-Hant', '研究發現'],
    ['zh-CN', '研究发现'],
    ['zh', '研究发现'],
    ['ja', '調査結果'],
    ['en', 'Findings'],
    ['fr', 'Findings'],
  ])('%s headings read %s', (tag, findings) => {
    expect(reportWording(tag).findings).toBe(findings);
  });
});

describe('report messages', () => {
  const budgets = ['tokens', 'cost', 'llm_calls', 'time'] as const;

  it.each(['en', 'zh-TW', 'zh-CN', 'ja', 'fr'])('%s messages are complete sentences with their numbers', (tag) => {
    const wording = reportWording(tag);
    const messages = [
      wording.noEvidence,
      wording.noFindings(4),
      wording.insufficientEvidence(1, 2),
      wording.draftRejected,
      ...budgets.map((budget) => wording.partial(budget)),
    ];
    for (const message of messages) {
      expect(message).not.toMatch(/[{}]|undefined/);
      expect(message.length).toBeGreaterThan(10);
    }
    expect(wording.noFindings(4)).toContain('4');
    expect(wording.insufficientEvidence(1, 2)).toMatch(/1\D+2/);
    expect(new Set(budgets.map((budget) => wording.partial(budget))).size).toBe(budgets.length);
  });
});

describe('inRequestedScript', () => {
  it("converts Simplified prose to Taiwan's characters and phrases for zh-TW", () => {
    const converted = inRequestedScript('这是简体的标题，说明软件和内存的信息。', 'zh-TW');
    expect(converted).toBe('這是簡體的標題，說明軟體和記憶體的資訊。');
    expect(simplifiedCharacters(converted)).toEqual([]);
  });

  it("uses Hong Kong's characters for zh-HK, and leaves Traditional text as it is", () => {
    expect(inRequestedScript('说明国际市场', 'zh-HK')).toBe('説明國際市場');
    expect(inRequestedScript('這是繁體的標題，說明國際市場。', 'zh-Hant')).toBe('這是繁體的標題，說明國際市場。');
  });

  it('leaves every other language alone, Simplified Chinese included', () => {
    expect(inRequestedScript('这是简体', 'zh-CN')).toBe('这是简体');
    expect(inRequestedScript('这是简体 and English', 'en')).toBe('这是简体 and English');
  });
});

describe('inRequestedLanguage', () => {
  it('takes a sentence of a Chinese report without a CJK character and with several Latin words for another language', () => {
    expect(inRequestedLanguage('The evidence shows that HBM supply was short in 2024.', 'zh-TW')).toBe(false);
    expect(inRequestedLanguage('資料指出：HBM 在 2024 年供應吃緊。', 'zh-TW')).toBe(true);
    // Names and figures in Latin letters do not count against a Chinese sentence.
    expect(inRequestedLanguage('輝達的 H100 與 AMD 的 MI300 Instinct GPU', 'zh-TW')).toBe(true);
    expect(inRequestedLanguage('NVIDIA H100 SXM', 'ja')).toBe(true);
  });

  it('takes a sentence of an English report made mostly of CJK characters for another language', () => {
    expect(inRequestedLanguage('資料指出，高頻寬記憶體在二〇二四年供應吃緊。', 'en')).toBe(false);
    expect(inRequestedLanguage('TSMC (台積電) made most of the accelerators.', 'en')).toBe(true);
    // Scripts it does not judge.
    expect(inRequestedLanguage('The evidence shows that supply was short.', 'ru')).toBe(true);
  });
});

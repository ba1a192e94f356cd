import {
  QuoteLanguage,
  foreignQuoteLanguage,
  inRequestedLanguage,
  inRequestedScript,
  reportWording,
  simplifiedCharacters,
} from './report-language';

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

describe('source headings and quote notes', () => {
  const languages: QuoteLanguage[] = [
    'english',
    'latin',
    'chinese',
    'simplifiedChinese',
    'traditionalChinese',
    'japanese',
    'korean',
  ];

  it.each([
    ['en', 'Source 2: HBM', ' (quoted in English)', ' (quoted in Chinese)'],
    ['zh-TW', '來源 2：HBM', '（原文為英文）', '（原文為中文）'],
    ['zh-HK', '來源 2：HBM', '（原文為英文）', '（原文為中文）'],
    ['zh-CN', '来源 2：HBM', '（原文为英文）', '（原文为中文）'],
    ['ja', '出典 2：HBM', '（原文は英語）', '（原文は中国語）'],
    ['fr', 'Source 2: HBM', ' (quoted in English)', ' (quoted in Chinese)'],
  ])('%s heads a source "%s" and notes quotes in another language', (tag, heading, english, chinese) => {
    const wording = reportWording(tag);
    expect(wording.sourceHeading(2, 'HBM')).toBe(heading);
    expect(wording.quotedIn('english')).toBe(english);
    expect(wording.quotedIn('chinese')).toBe(chinese);
    const notes = languages.map((language) => wording.quotedIn(language));
    for (const note of notes) expect(note).not.toMatch(/[{}]|undefined/);
    expect(new Set(notes).size).toBe(languages.length);
  });

  it('writes the notes of a zh-TW report in Traditional characters only', () => {
    const wording = reportWording('zh-TW');
    const text = [wording.sourceHeading(1, ''), ...languages.map((language) => wording.quotedIn(language))].join('');
    expect(simplifiedCharacters(text)).toEqual([]);
  });
});

describe('foreignQuoteLanguage', () => {
  const english = 'The supply of AI chips in 2024 was limited by advanced packaging capacity.';
  const traditional = '台積電的 CoWoS 先進封裝產能是 2024 年供應的主要瓶頸。';
  const simplified = '台积电的 CoWoS 先进封装产能是 2024 年供应的主要瓶颈。';
  const japanese = '日本の半導体産業は2024年に回復した。';

  it('names the language of a quote in another language than the report', () => {
    expect(foreignQuoteLanguage(english, 'zh-TW')).toBe('english');
    expect(foreignQuoteLanguage('Demand for AI accelerators grew sharply in 2024.', 'ja')).toBe('english');
    expect(foreignQuoteLanguage(traditional, 'en')).toBe('chinese');
    expect(foreignQuoteLanguage(japanese, 'en')).toBe('japanese');
    expect(foreignQuoteLanguage('AI 반도체 수요는 2024년에 크게 늘었다.', 'zh-TW')).toBe('korean');
    expect(foreignQuoteLanguage(japanese, 'zh-TW')).toBe('japanese');
    expect(foreignQuoteLanguage(traditional, 'ja')).toBe('chinese');
  });

  it('takes Latin letters for English unless letters and words say otherwise', () => {
    const hbm = 'High-bandwidth memory (HBM) was another bottleneck, because every accelerator needs HBM stacks.';
    expect(foreignQuoteLanguage(hbm, 'zh-TW')).toBe('english');
    expect(foreignQuoteLanguage('Nestlé and Société Générale reported their results for 2024.', 'zh-TW')).toBe(
      'english',
    );
    const french = "La demande de puces d'IA a fortement augmenté en 2024 selon les analystes.";
    expect(foreignQuoteLanguage(french, 'zh-TW')).toBe('latin');
    expect(foreignQuoteLanguage('Die Nachfrage nach KI-Chips ist 2024 stark gewachsen, für alle Anbieter.', 'ja')).toBe(
      'latin',
    );
  });

  it('says when a Chinese quote is in the other script than the report', () => {
    expect(foreignQuoteLanguage(simplified, 'zh-TW')).toBe('simplifiedChinese');
    expect(foreignQuoteLanguage(traditional, 'zh-CN')).toBe('traditionalChinese');
  });

  it('says nothing of a quote in the report language, or with only names in another script', () => {
    expect(foreignQuoteLanguage(english, 'en')).toBeNull();
    expect(foreignQuoteLanguage(english, 'fr')).toBeNull();
    expect(foreignQuoteLanguage(traditional, 'zh-TW')).toBeNull();
    expect(foreignQuoteLanguage(traditional, 'zh-HK')).toBeNull();
    expect(foreignQuoteLanguage(simplified, 'zh-CN')).toBeNull();
    expect(foreignQuoteLanguage(japanese, 'ja')).toBeNull();
    expect(foreignQuoteLanguage('NVIDIA H100 SXM5 GPU', 'zh-TW')).toBeNull();
    expect(foreignQuoteLanguage('TSMC (台積電) made most of the accelerators.', 'en')).toBeNull();
    // Scripts it does not judge.
    expect(foreignQuoteLanguage(english, 'ru')).toBeNull();
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

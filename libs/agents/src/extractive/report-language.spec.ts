import { reportWording } from './report-language';

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

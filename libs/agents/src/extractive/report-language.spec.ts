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

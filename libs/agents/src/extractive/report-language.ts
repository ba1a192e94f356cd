export interface ReportWording {
  findings: string;
  sources: string;
  noEvidence: string;
  openQuote: string;
  closeQuote: string;
}

const ENGLISH: ReportWording = {
  findings: 'Findings',
  sources: 'Sources',
  noEvidence: 'No document in the corpus matches this question, so this report has no findings.',
  openQuote: '“',
  closeQuote: '”',
};

const TRADITIONAL_CHINESE: ReportWording = {
  findings: '研究發現',
  sources: '資料來源',
  noEvidence: '語料庫中沒有與此問題相關的文件，因此本報告沒有研究發現。',
  openQuote: '「',
  closeQuote: '」',
};

const SIMPLIFIED_CHINESE: ReportWording = {
  findings: '研究发现',
  sources: '资料来源',
  noEvidence: '语料库中没有与此问题相关的文件，因此本报告没有研究发现。',
  openQuote: '“',
  closeQuote: '”',
};

const JAPANESE: ReportWording = {
  findings: '調査結果',
  sources: '出典',
  noEvidence: 'コーパスにこの質問に関連する文書がないため、この報告書には調査結果がありません。',
  openQuote: '「',
  closeQuote: '」',
};

/** The fixed wording of the extractive report in the requested language; English otherwise. */
export function reportWording(languageTag: string): ReportWording {
  const locale = new Intl.Locale(languageTag).maximize();
  if (locale.language === 'zh') return locale.script === 'Hant' ? TRADITIONAL_CHINESE : SIMPLIFIED_CHINESE;
  if (locale.language === 'ja') return JAPANESE;
  return ENGLISH;
}

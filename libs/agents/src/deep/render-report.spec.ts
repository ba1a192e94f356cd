import { ResearchFinding, ResearchSource } from '@app/research';
import { reportWording } from '../extractive/report-language';
import { SYNTHESIS_MARK, UNVERIFIED_MARK, renderDraft, renderEvidenceList } from './render-report';
import { DraftReply, DraftSentence } from './schemas';
import { draftProblems, repairDraft } from './writer.agent';

const finding = (id: string, source: number): ResearchFinding => ({
  id,
  source,
  quote: `Quote of ${id}.`,
  start: 0,
  end: 10,
  score: null,
  note: null,
});
const source = (n: number): ResearchSource => ({
  n,
  kind: 'document',
  provider: 'corpus',
  document_id: null,
  url: null,
  title: `Source ${n}`,
  content_hash: 'h',
  retrieved_at: '2026-11-28T00:00:00.000Z',
});

describe('draft checks and rendering', () => {
  const ids = new Set(['F1', 'F2']);
  const supported: DraftSentence = { text: 'HBM was scarce in 2024.', findings: ['F1'] };
  const partly: DraftSentence = { text: 'HBM was scarce for a decade.', findings: ['F2'] };
  const removed: DraftSentence = { text: 'Intel overtook NVIDIA.', findings: ['F1'] };
  const draft = (conclusion: DraftSentence[]): DraftReply => ({
    title: 'HBM',
    sections: [{ heading: 'Supply', sentences: [supported, partly, removed] }],
    conclusion,
    uncertainty: 'Few sources were read.',
  });

  it('asks a conclusion sentence to cite findings or say it is synthesis, and repairs it into synthesis', () => {
    const unmarked = draft([{ text: 'Supply will stay tight.', findings: [], synthesis: false }]);
    expect(draftProblems(unmarked, ids, 'en')).toEqual([
      'conclusion sentence 1 cites no finding and is not marked as synthesis; cite findings or mark it',
    ]);
    const repaired = repairDraft(unmarked, ids, 'en');
    expect(repaired.conclusion).toEqual([{ text: 'Supply will stay tight.', findings: [], synthesis: true }]);
    expect(draftProblems(repaired, ids, 'en')).toEqual([]);
    // A conclusion sentence that cites findings is verified as any other, whatever it says of itself.
    const cited = repairDraft(draft([{ text: 'Supply was tight.', findings: ['F1'], synthesis: true }]), ids, 'en');
    expect(cited.conclusion[0]?.synthesis).toBe(false);
  });

  it('marks what the verifier could not confirm and the writer synthesised, explains both, and leaves out what was removed', () => {
    const synthesis = { text: 'Supply will stay tight.', findings: [], synthesis: true };
    const shown = (s: DraftSentence) => (s === partly ? 'unverified' : s === removed ? 'omitted' : 'plain');
    const { markdown } = renderDraft(
      draft([synthesis]),
      [finding('F1', 1), finding('F2', 2)],
      [source(1), source(2)],
      reportWording('zh-TW'),
      [],
      shown,
    );
    expect(markdown).toContain(`HBM was scarce in 2024. [1] HBM was scarce for a decade. [2] ${UNVERIFIED_MARK}\n`);
    expect(markdown).not.toContain('Intel');
    expect(markdown).toContain(`Supply will stay tight. ${SYNTHESIS_MARK} Few sources were read. ${SYNTHESIS_MARK}`);
    expect(markdown).toContain(`${UNVERIFIED_MARK} 標示此記號的句子無法由其引用的原文證實，請查閱其來源。`);
    expect(markdown).toContain(`${SYNTHESIS_MARK} 標示此記號的句子是撰寫者對研究發現的綜合判斷`);
  });

  it('explains no mark that is not used', () => {
    const { markdown } = renderDraft(
      { ...draft([supported]), uncertainty: '' },
      [finding('F1', 1), finding('F2', 2)],
      [source(1), source(2)],
      reportWording('en'),
      [],
    );
    expect(markdown).not.toContain(UNVERIFIED_MARK);
    expect(markdown).not.toContain(SYNTHESIS_MARK);
  });
});

describe('the evidence list', () => {
  it('groups the quotes under a heading for each source in the report language, noting a quote in another', () => {
    const english: ResearchFinding = { ...finding('F1', 1), quote: 'HBM supply was short in 2024.' };
    const chinese: ResearchFinding = { ...finding('F2', 2), quote: 'HBM 的產能不足，使出貨受到限制。' };
    const { markdown } = renderEvidenceList('HBM', [], [english, chinese], [source(1), source(2)], 'zh-TW');
    expect(markdown).toContain('### 來源 1：Source 1\n\n- 「HBM supply was short in 2024.」 [1]（原文為英文）\n');
    expect(markdown).toContain('### 來源 2：Source 2\n\n- 「HBM 的產能不足，使出貨受到限制。」 [2]\n');
  });
});

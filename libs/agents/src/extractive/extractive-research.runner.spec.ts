import { loadConfig } from '@app/config';
import { ResearchRunContext, ResearchTask, StoredSource } from '@app/research';
import { InlineTextProcessor, SafeFetcher, SearchHit, SearchProvider, SearchQuery, SourceSearch } from '@app/search';
import { ExtractiveResearchRunner } from './extractive-research.runner';

class FixedSearch extends SearchProvider {
  readonly queries: SearchQuery[] = [];

  constructor(
    private readonly hits: SearchHit[],
    readonly name = 'corpus',
  ) {
    super();
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    this.queries.push(query);
    return this.hits.slice(0, query.limit);
  }
}

const hit = (title: string, text: string, url: string | null = null): SearchHit => {
  const documentId = `00000000-0000-0000-0000-00000000000${title.length % 10}`;
  return {
    provider: 'corpus',
    kind: 'document',
    documentId,
    url,
    title,
    snippet: text.slice(0, 20),
    score: 1,
    snapshot: {
      kind: 'document',
      provider: 'corpus',
      documentId,
      url,
      finalUrl: null,
      title,
      httpStatus: null,
      mediaType: null,
      contentHash: `hash-${title}`,
      text,
      retrievedAt: new Date('2026-11-25T00:00:00Z'),
    },
  };
};

function context(
  earlier: StoredSource[] = [],
): ResearchRunContext & { events: [string, Record<string, unknown>][]; checkpoints: number; saved: StoredSource[] } {
  const events: [string, Record<string, unknown>][] = [];
  const saved: StoredSource[] = [];
  const state = { checkpoints: 0 };
  return {
    saved,
    signal: new AbortController().signal,
    events,
    get checkpoints() {
      return state.checkpoints;
    },
    checkpoint: async () => {
      state.checkpoints += 1;
    },
    emit: async (type, data = {}) => {
      events.push([type, data]);
    },
    loadSteps: async () => new Map(),
    saveStep: async () => undefined,
    loadSources: async () => earlier,
    saveSources: async (sources) => {
      saved.push(...sources);
    },
  };
}

const task = (question: string, overrides: Partial<ResearchTask['params']> = {}): ResearchTask => ({
  researchId: 'r',
  tenantId: 't',
  question,
  params: { maxSources: 5, verify: true, language: 'en', ...overrides },
  requestId: null,
  attempt: 1,
  startedAt: new Date(),
});

// Corpus hits carry their text: the fetcher is never used, and is real all the same.
const fetcher = new SafeFetcher(loadConfig({}).fetch);
const runner = (search: SearchProvider) =>
  new ExtractiveResearchRunner(
    new SourceSearch([search], fetcher, new InlineTextProcessor()),
    new InlineTextProcessor(),
  );

afterAll(() => fetcher.close());

/** The findings section as a reader sees it: each source heading with the quote lines under it. */
function quotesBySource(report: string, findingsHeading: string, sourcesHeading: string): Map<string, string[]> {
  const section = report.split(`## ${sourcesHeading}`)[0]!.split(`## ${findingsHeading}`)[1] ?? '';
  const groups = new Map<string, string[]>();
  let heading = '(no heading)';
  for (const line of section.split('\n').filter((l) => l.trim().length > 0)) {
    if (line.startsWith('### ')) {
      heading = line.slice(4);
      groups.set(heading, []);
    } else groups.set(heading, [...(groups.get(heading) ?? []), line]);
  }
  return groups;
}

describe('ExtractiveResearchRunner', () => {
  const hits = [
    hit('Weather', 'It rained all day. Nothing about chips.'),
    hit(
      'Packaging',
      'TSMC CoWoS capacity limited AI chip supply in 2024. [Note] brackets stay verbatim.',
      'https://example.com/p',
    ),
    hit('Memory', 'HBM shortages also limited AI chip supply in 2024.'),
  ];

  it('writes a report in which every finding line is a quote with a citation to a listed source', async () => {
    const search = new FixedSearch(hits);
    const ctx = context();
    const result = await runner(search).run(task('What limited AI chip supply in 2024?'), ctx);

    // Twice as many candidates as sources: one that cannot be read gives its place to the next.
    expect(search.queries[0]).toMatchObject({ tenantId: 't', limit: 10 });
    expect(result.sources.map((s) => s.title)).toEqual(['Packaging', 'Memory']);
    expect(result.sources.map((s) => s.n)).toEqual([1, 2]);
    expect(result.evidence).toBe('sufficient');
    for (const finding of result.findings) {
      const text = hits.find((h) => h.title === result.sources[finding.source - 1]?.title)?.snapshot?.text;
      expect(text?.slice(finding.start, finding.end)).toBe(finding.quote);
    }
    const findingLines = result.report.split('\n').filter((line) => line.startsWith('- '));
    expect(findingLines).toHaveLength(result.findings.length);
    for (const line of findingLines) expect(line).toMatch(/^- “.+” \[[12]\]$/);
    // The quotes are grouped under a heading naming their source, in the order of the sources.
    const groups = quotesBySource(result.report, 'Findings', 'Sources');
    expect([...groups.keys()]).toEqual(['Source 1: Packaging', 'Source 2: Memory']);
    for (const [heading, lines] of groups) {
      const n = heading.match(/^Source (\d+):/)?.[1];
      for (const line of lines) expect(line).toMatch(new RegExp(`\\[${n}\\]$`));
    }
    expect(result.report).toContain('1. [Packaging](https://example.com/p)');
    expect(result.report).toContain('2. Memory');
    expect(result.claims.every((claim) => claim.label === 'supported')).toBe(true);
    expect(ctx.events.map(([type, data]) => `${type}:${String(data.stage)}`)).toEqual([
      'stage.started:search',
      'stage.finished:search',
      'stage.started:read',
      'stage.finished:read',
      'stage.started:write',
      'stage.finished:write',
    ]);
    expect(ctx.checkpoints).toBeGreaterThanOrEqual(2);
    // The cited sources are stored with their text, as numbered in the report.
    expect(ctx.saved.map((s) => [s.n, s.title, s.provider])).toEqual([
      [1, 'Packaging', 'corpus'],
      [2, 'Memory', 'corpus'],
    ]);
    for (const finding of result.findings) {
      const stored = ctx.saved.find((s) => s.n === finding.source);
      expect(stored?.text.slice(finding.start, finding.end)).toBe(finding.quote);
    }
  });

  it('cites the sources an earlier run stored, with their numbers, without searching again', async () => {
    const search = new FixedSearch(hits);
    const first = context();
    const before = await runner(search).run(task('What limited AI chip supply in 2024?'), first);
    const again = context(first.saved);
    const after = await runner(search).run(task('What limited AI chip supply in 2024?'), again);
    expect(search.queries).toHaveLength(1);
    // Scores are relative to the sources ranked together, fewer now; what is cited is the same.
    const cited = (findings: typeof before.findings) => findings.map(({ score: _score, ...rest }) => rest);
    expect(cited(after.findings)).toEqual(cited(before.findings));
    expect(after.report).toBe(before.report);
  });

  it('searches only the providers the research may use', async () => {
    const corpus = new FixedSearch(hits);
    const other = new FixedSearch(hits, 'searxng');
    const search = new SourceSearch([corpus, other], fetcher, new InlineTextProcessor());
    const result = await new ExtractiveResearchRunner(search, new InlineTextProcessor()).run(
      task('What limited AI chip supply in 2024?', { sources: ['searxng'] }),
      context(),
    );
    expect(corpus.queries).toHaveLength(0);
    expect(other.queries).toHaveLength(1);
    expect(result.sources.length).toBeGreaterThan(0);
  });

  it('escapes brackets in quotes so they cannot read as citations', async () => {
    const result = await runner(new FixedSearch([hits[1]!])).run(task('Note brackets verbatim'), context());
    expect(result.findings.map((f) => f.quote)).toContain('[Note] brackets stay verbatim.');
    expect(result.report).toContain('\\[Note\\] brackets stay verbatim.');
  });

  it('heads the quotes of a zh-TW report in Traditional Chinese and notes the quotes in English as such', async () => {
    const result = await runner(
      new FixedSearch([
        hit('2024 年 AI 晶片供應', '台積電的 CoWoS 先進封裝產能是 2024 年 AI 晶片供應的主要瓶頸。夜市很熱鬧。'),
        hit('Packaging [2024]', 'TSMC CoWoS packaging capacity limited the supply of AI chips in 2024.'),
      ]),
    ).run(task('2024 年 AI 晶片的 CoWoS 供應', { language: 'zh-TW' }), context());

    expect(result.sources.map((s) => s.title)).toEqual(['2024 年 AI 晶片供應', 'Packaging [2024]']);
    expect(result.report).toContain('## 研究發現');
    expect(result.report).toContain('## 資料來源');
    const groups = quotesBySource(result.report, '研究發現', '資料來源');
    expect([...groups.entries()]).toEqual([
      ['來源 1：2024 年 AI 晶片供應', ['- 「台積電的 CoWoS 先進封裝產能是 2024 年 AI 晶片供應的主要瓶頸。」 [1]']],
      // The title's brackets are escaped; the quote is verbatim, then said to be in English.
      [
        '來源 2：Packaging \\[2024\\]',
        ['- 「TSMC CoWoS packaging capacity limited the supply of AI chips in 2024.」 [2]（原文為英文）'],
      ],
    ]);
    expect(result.report).not.toMatch(/[{}]|undefined|English|Source/);
  });

  it('heads the quotes of an English report in English and notes a quote in Chinese as such', async () => {
    const result = await runner(
      new FixedSearch([
        hit('Packaging', 'TSMC CoWoS packaging capacity limited the supply of AI chips in 2024.'),
        hit('台積電', '台積電的 CoWoS 先進封裝產能限制了 2024 年 AI 晶片的供應，這是市場分析的共識。'),
      ]),
    ).run(task('What was CoWoS for AI in 2024?', { language: 'en' }), context());

    const groups = quotesBySource(result.report, 'Findings', 'Sources');
    expect([...groups.entries()]).toEqual([
      ['Source 1: Packaging', ['- “TSMC CoWoS packaging capacity limited the supply of AI chips in 2024.” [1]']],
      [
        'Source 2: 台積電',
        ['- “台積電的 CoWoS 先進封裝產能限制了 2024 年 AI 晶片的供應，這是市場分析的共識。” [2] (quoted in Chinese)'],
      ],
    ]);
  });

  it('says plainly that nothing was found, in the requested language', async () => {
    const result = await runner(new FixedSearch([])).run(task('量子色動力學', { language: 'zh-TW' }), context());
    expect(result).toMatchObject({ evidence: 'none', sources: [], findings: [], claims: [], language: 'zh-TW' });
    expect(result.report).toBe('# 量子色動力學\n\n找不到與此問題相關的來源，因此本報告沒有研究發現。\n');
  });

  it('labels one source as insufficient evidence', async () => {
    const result = await runner(new FixedSearch([hits[2]!])).run(task('HBM shortages'), context());
    expect(result.evidence).toBe('insufficient');
  });
});

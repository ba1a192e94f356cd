import { ResearchRunContext, ResearchTask } from '@app/research';
import { InlineTextProcessor, SearchHit, SearchProvider, SearchQuery } from '@app/search';
import { ExtractiveResearchRunner } from './extractive-research.runner';

class FixedSearch extends SearchProvider {
  readonly name = 'fixed';
  readonly queries: SearchQuery[] = [];

  constructor(private readonly hits: SearchHit[]) {
    super();
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    this.queries.push(query);
    return this.hits.slice(0, query.limit);
  }
}

const hit = (title: string, text: string, url: string | null = null): SearchHit => ({
  kind: 'document',
  documentId: `00000000-0000-0000-0000-00000000000${title.length % 10}`,
  url,
  title,
  text,
  contentHash: 'hash',
  score: 1,
  retrievedAt: new Date('2026-11-25T00:00:00Z'),
});

function context(): ResearchRunContext & { events: [string, Record<string, unknown>][]; checkpoints: number } {
  const events: [string, Record<string, unknown>][] = [];
  const state = { checkpoints: 0 };
  return {
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
    loadSources: async () => [],
    saveSources: async () => undefined,
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

const runner = (search: SearchProvider) => new ExtractiveResearchRunner(search, new InlineTextProcessor());

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

    expect(search.queries[0]).toMatchObject({ tenantId: 't', limit: 5 });
    expect(result.sources.map((s) => s.title)).toEqual(['Packaging', 'Memory']);
    expect(result.sources.map((s) => s.n)).toEqual([1, 2]);
    expect(result.evidence).toBe('sufficient');
    for (const finding of result.findings) {
      const text = hits.find((h) => h.title === result.sources[finding.source - 1]?.title)?.text;
      expect(text?.slice(finding.start, finding.end)).toBe(finding.quote);
    }
    const findingLines = result.report.split('\n').filter((line) => line.startsWith('- '));
    expect(findingLines).toHaveLength(result.findings.length);
    for (const line of findingLines) expect(line).toMatch(/^- “.+” \[[12]\]$/);
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
  });

  it('escapes brackets in quotes so they cannot read as citations', async () => {
    const result = await runner(new FixedSearch([hits[1]!])).run(task('Note brackets verbatim'), context());
    expect(result.findings.map((f) => f.quote)).toContain('[Note] brackets stay verbatim.');
    expect(result.report).toContain('\\[Note\\] brackets stay verbatim.');
  });

  it('says plainly that nothing was found, in the requested language', async () => {
    const result = await runner(new FixedSearch([])).run(task('量子色動力學', { language: 'zh-TW' }), context());
    expect(result).toMatchObject({ evidence: 'none', sources: [], findings: [], claims: [], language: 'zh-TW' });
    expect(result.report).toBe('# 量子色動力學\n\n語料庫中沒有與此問題相關的文件，因此本報告沒有研究發現。\n');
  });

  it('labels one source as insufficient evidence', async () => {
    const result = await runner(new FixedSearch([hits[2]!])).run(task('HBM shortages'), context());
    expect(result.evidence).toBe('insufficient');
  });
});

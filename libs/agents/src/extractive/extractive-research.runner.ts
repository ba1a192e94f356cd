import {
  ResearchClaim,
  ResearchFinding,
  ResearchResult,
  ResearchRunContext,
  ResearchRunner,
  ResearchSource,
  ResearchTask,
} from '@app/research';
import { SearchHit, SearchProvider, TextProcessor, queryTerms } from '@app/search';
import { TrackResearchTask } from '@app/observability';
import { Injectable } from '@nestjs/common';
import { PASSAGE_RULES, Passage, choosePassages, rankingTerms } from './passage-ranker';
import { ReportWording, reportWording } from './report-language';

const PASSAGES_PER_SOURCE = 3;
const PASSAGES_IN_ALL = 12;
const MIN_RELATIVE_SCORE = 0.3;

/**
 * Research without an LLM: searches the tenant's documents, quotes the passages most relevant to
 * the question, and writes a Markdown report in which every sentence is such a quote with its
 * `[n]` citation. It runs with no API key and is the default engine.
 */
@Injectable()
export class ExtractiveResearchRunner extends ResearchRunner {
  readonly engine = 'extractive';

  constructor(
    private readonly search: SearchProvider,
    private readonly textProcessor: TextProcessor,
  ) {
    super();
  }

  @TrackResearchTask('coordinator')
  async run(task: ResearchTask, context: ResearchRunContext): Promise<ResearchResult> {
    const started = Date.now();
    const hits = await this.searchSources(task, context);
    await context.checkpoint();
    const passages = await this.readPassages(task, hits, context);
    await context.checkpoint();
    const result = await this.writeReport(task, hits, passages, context);
    return { ...result, stats: { ...result.stats, duration_ms: Date.now() - started } };
  }

  @TrackResearchTask('searcher')
  private async searchSources(task: ResearchTask, context: ResearchRunContext): Promise<SearchHit[]> {
    await context.emit('stage.started', { stage: 'search', provider: this.search.name });
    const hits = await this.search.search({
      tenantId: task.tenantId,
      text: task.question,
      limit: task.params.maxSources,
      signal: context.signal,
    });
    await context.emit('stage.finished', { stage: 'search', documents: hits.length });
    return hits;
  }

  @TrackResearchTask('reader')
  private async readPassages(task: ResearchTask, hits: SearchHit[], context: ResearchRunContext): Promise<Passage[]> {
    await context.emit('stage.started', { stage: 'read', documents: hits.length });
    const terms = rankingTerms(queryTerms(task.question));
    const sources = hits.map((hit) => hit.text);
    const scans = await Promise.all(
      sources.map((text) => this.textProcessor.scanSentences({ text, terms, rules: PASSAGE_RULES }, context.signal)),
    );
    const passages = choosePassages(terms, sources, scans, {
      perSource: PASSAGES_PER_SOURCE,
      total: PASSAGES_IN_ALL,
      minRelativeScore: MIN_RELATIVE_SCORE,
    });
    await context.emit('stage.finished', { stage: 'read', passages: passages.length });
    return passages;
  }

  @TrackResearchTask('writer')
  private async writeReport(
    task: ResearchTask,
    hits: SearchHit[],
    passages: Passage[],
    context: ResearchRunContext,
  ): Promise<ResearchResult> {
    await context.emit('stage.started', { stage: 'write' });
    // Sources are numbered in the order the report first cites them; uncited hits are left out.
    const numbers = new Map<number, number>();
    const sources: ResearchSource[] = [];
    const findings: ResearchFinding[] = passages.map((passage, index) => {
      let n = numbers.get(passage.sourceIndex);
      if (n === undefined) {
        n = sources.length + 1;
        numbers.set(passage.sourceIndex, n);
        sources.push(toSource(n, hits[passage.sourceIndex] as SearchHit));
      }
      return {
        id: `F${index + 1}`,
        source: n,
        quote: passage.text,
        start: passage.start,
        end: passage.end,
        score: passage.score,
        note: null,
      };
    });
    const claims = task.params.verify ? verifyQuotes(findings, hits, numbers) : [];
    const report = renderReport(task.question, findings, sources, reportWording(task.params.language));
    await context.emit('stage.finished', { stage: 'write', findings: findings.length, sources: sources.length });

    return {
      engine: this.engine,
      language: task.params.language,
      report,
      evidence: sources.length === 0 ? 'none' : sources.length === 1 ? 'insufficient' : 'sufficient',
      partial: false,
      partial_reason: null,
      sources,
      findings,
      claims,
      usage: null,
      stats: { documents_found: hits.length, passages: findings.length },
    };
  }
}

function toSource(n: number, hit: SearchHit): ResearchSource {
  return {
    n,
    kind: hit.kind,
    document_id: hit.documentId,
    url: hit.url,
    title: hit.title,
    content_hash: hit.contentHash,
    retrieved_at: hit.retrievedAt.toISOString(),
  };
}

/** Each finding is a claim; it is supported when its quote is the source text at its offsets. */
function verifyQuotes(findings: ResearchFinding[], hits: SearchHit[], numbers: Map<number, number>): ResearchClaim[] {
  const textBySource = new Map([...numbers].map(([index, n]) => [n, hits[index]?.text ?? '']));
  return findings.map((finding) => ({
    text: finding.quote,
    label:
      textBySource.get(finding.source)?.slice(finding.start, finding.end) === finding.quote
        ? 'supported'
        : 'unverified',
    sources: [finding.source],
    findings: [finding.id],
  }));
}

function renderReport(
  question: string,
  findings: ResearchFinding[],
  sources: ResearchSource[],
  wording: ReportWording,
): string {
  const title = `# ${singleLine(question)}`;
  if (findings.length === 0) return `${title}\n\n${wording.noEvidence}\n`;
  const lines = findings.map(
    (finding) => `- ${wording.openQuote}${escapeMarkdown(finding.quote)}${wording.closeQuote} [${finding.source}]`,
  );
  const sourceLines = sources.map((source) => {
    const label = escapeMarkdown(singleLine(source.title));
    return `${source.n}. ${source.url ? `[${label}](${source.url})` : label}`;
  });
  return [title, '', `## ${wording.findings}`, '', ...lines, '', `## ${wording.sources}`, '', ...sourceLines, ''].join(
    '\n',
  );
}

/** Brackets would read as citations or links inside the report. */
function escapeMarkdown(text: string): string {
  return text.replace(/([\\[\]])/g, '\\$1');
}

function singleLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

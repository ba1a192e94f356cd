import {
  ResearchClaim,
  ResearchFinding,
  ResearchResult,
  ResearchRunContext,
  ResearchRunner,
  ResearchTask,
  StoredSource,
  resultSource,
  sourcesOf,
  RunEventType,
} from '@app/research';
import {
  SourceSearch,
  SourceSnapshot,
  TextProcessor,
  candidatesFor,
  fuseRankings,
  queryTerms,
  summarizeFailures,
} from '@app/search';
import { TrackResearchTask } from '@app/observability';
import { Injectable } from '@nestjs/common';
import { PASSAGE_RULES, Passage, choosePassages, rankingTerms } from './passage-ranker';
import { foreignQuoteLanguage, reportWording } from './report-language';

const PASSAGES_PER_SOURCE = 3;
const PASSAGES_IN_ALL = 12;
const MIN_RELATIVE_SCORE = 0.3;

/** A source read by this run, or stored by an earlier one (with its number). */
interface ReadSource {
  snapshot: SourceSnapshot;
  n: number | null;
}

/**
 * Research without an LLM: searches the providers the research may use, reads the best sources
 * (a web page through the guarded fetcher), quotes the passages most relevant to the question,
 * and writes a Markdown report in which every sentence is such a quote with its `[n]` citation.
 * It runs with no API key and is the default engine. The sources it cites are stored with the
 * research, so each quote stays checkable against the text it was taken from.
 */
@Injectable()
export class ExtractiveResearchRunner extends ResearchRunner {
  readonly engine = 'extractive';

  constructor(
    private readonly sources: SourceSearch,
    private readonly textProcessor: TextProcessor,
  ) {
    super();
  }

  @TrackResearchTask('coordinator')
  async run(task: ResearchTask, context: ResearchRunContext): Promise<ResearchResult> {
    const started = Date.now();
    // A run that died after storing its sources cites the same texts again, with the same numbers.
    const stored = await context.loadSources();
    const read =
      stored.length > 0
        ? { sources: stored.map((source) => ({ snapshot: source, n: source.n })), found: stored.length }
        : await this.searchSources(task, context);
    await context.checkpoint();
    const passages = await this.readPassages(task, read.sources, context);
    await context.checkpoint();
    const result = await this.writeReport(task, read.sources, passages, context);
    return {
      ...result,
      stats: { ...result.stats, documents_found: read.found, duration_ms: Date.now() - started },
    };
  }

  @TrackResearchTask('searcher')
  private async searchSources(
    task: ResearchTask,
    context: ResearchRunContext,
  ): Promise<{ sources: ReadSource[]; found: number }> {
    const providers = sourcesOf(task.params);
    await context.emit(RunEventType.StageStarted, { stage: 'search', providers });
    const { rankings, failures } = await this.sources.search(
      {
        tenantId: task.tenantId,
        text: task.question,
        limit: candidatesFor(task.params.maxSources),
        language: task.params.language,
        signal: context.signal,
      },
      providers,
    );
    for (const summary of summarizeFailures(failures)) {
      await context.emit(RunEventType.SearchFailed, { ...summary });
    }
    const hits = fuseRankings(rankings);
    const read = await this.sources.readBest(hits, task.params.maxSources, context.signal);
    for (const failure of read.failures) {
      await context.emit(RunEventType.SourceUnreadable, {
        provider: failure.provider,
        url: failure.url,
        reason: failure.reason,
      });
    }
    await context.emit(RunEventType.StageFinished, {
      stage: 'search',
      documents: read.snapshots.length,
      found: hits.length,
      unreadable: read.failures.length,
    });
    return { sources: read.snapshots.map((snapshot) => ({ snapshot, n: null })), found: hits.length };
  }

  @TrackResearchTask('reader')
  private async readPassages(
    task: ResearchTask,
    sources: ReadSource[],
    context: ResearchRunContext,
  ): Promise<Passage[]> {
    await context.emit(RunEventType.StageStarted, { stage: 'read', documents: sources.length });
    const terms = rankingTerms(queryTerms(task.question));
    const texts = sources.map((source) => source.snapshot.text);
    const scans = await Promise.all(
      texts.map((text) => this.textProcessor.scanSentences({ text, terms, rules: PASSAGE_RULES }, context.signal)),
    );
    const passages = choosePassages(terms, texts, scans, {
      perSource: PASSAGES_PER_SOURCE,
      total: PASSAGES_IN_ALL,
      minRelativeScore: MIN_RELATIVE_SCORE,
    });
    await context.emit(RunEventType.StageFinished, { stage: 'read', passages: passages.length });
    return passages;
  }

  @TrackResearchTask('writer')
  private async writeReport(
    task: ResearchTask,
    read: ReadSource[],
    passages: Passage[],
    context: ResearchRunContext,
  ): Promise<ResearchResult> {
    await context.emit(RunEventType.StageStarted, { stage: 'write' });
    // Sources are numbered in the order the report first cites them (or as an earlier run stored
    // them); sources without a quote are left out.
    const cited = new Map<number, StoredSource>();
    const numberOf = (index: number): number => {
      const known = cited.get(index);
      if (known) return known.n;
      const source = read[index]!;
      const n = source.n ?? cited.size + 1;
      cited.set(index, { ...source.snapshot, n });
      return n;
    };
    const findings: ResearchFinding[] = passages.map((passage, index) => ({
      id: `F${index + 1}`,
      source: numberOf(passage.sourceIndex),
      quote: passage.text,
      start: passage.start,
      end: passage.end,
      score: passage.score,
      note: null,
    }));
    const stored = [...cited.values()].sort((a, b) => a.n - b.n);
    await context.saveSources(stored);
    const sources = stored.map(resultSource);
    const claims = task.params.verify ? verifyQuotes(findings, stored) : [];
    const report = renderReport(task.question, findings, stored, task.params.language);
    await context.emit(RunEventType.StageFinished, {
      stage: 'write',
      findings: findings.length,
      sources: sources.length,
    });

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
      stats: { sources_read: read.length, passages: findings.length },
    };
  }
}

/** Each finding is a claim; it is supported when its quote is the stored source text at its offsets. */
function verifyQuotes(findings: ResearchFinding[], sources: StoredSource[]): ResearchClaim[] {
  const textBySource = new Map(sources.map((source) => [source.n, source.text]));
  return findings.map((finding) => ({
    text: finding.quote,
    label:
      textBySource.get(finding.source)?.slice(finding.start, finding.end) === finding.quote
        ? 'supported'
        : 'unverified',
    sources: [finding.source],
    findings: [finding.id],
    kept: true,
    rewritten: false,
  }));
}

/**
 * The question, then the quotes grouped under a heading for each source, in the order of the
 * sources' numbers (the source of the best quote first), best quote first within a source; then
 * the sources. Headings and notes are in the report's language; quotes stay as their source wrote
 * them, with a note after those written in another language or script.
 */
function renderReport(
  question: string,
  findings: ResearchFinding[],
  sources: StoredSource[],
  language: string,
): string {
  const wording = reportWording(language);
  const title = `# ${singleLine(question)}`;
  if (findings.length === 0) return `${title}\n\n${wording.noEvidence}\n`;
  const quoteLine = (finding: ResearchFinding): string => {
    const foreign = foreignQuoteLanguage(finding.quote, language);
    const quote = `${wording.openQuote}${escapeMarkdown(finding.quote)}${wording.closeQuote} [${finding.source}]`;
    return `- ${quote}${foreign ? wording.quotedIn(foreign) : ''}`;
  };
  const groups = sources.flatMap((source) => {
    const quoted = findings.filter((finding) => finding.source === source.n);
    if (quoted.length === 0) return [];
    const heading = wording.sourceHeading(source.n, escapeMarkdown(singleLine(source.title)));
    return [`### ${heading}`, '', ...quoted.map(quoteLine), ''];
  });
  const sourceLines = sources.map((source) => {
    const label = escapeMarkdown(singleLine(source.title));
    return `${source.n}. ${source.url ? `[${label}](${source.url})` : label}`;
  });
  return [title, '', `## ${wording.findings}`, '', ...groups, `## ${wording.sources}`, '', ...sourceLines, ''].join(
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

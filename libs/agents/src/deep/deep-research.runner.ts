import { mapWithConcurrency } from '@app/common';
import { AppConfig } from '@app/config';
import { Metric, TrackResearchTask } from '@app/observability';
import {
  ClaimLabel,
  CompletedStep,
  ResearchClaim,
  ResearchFinding,
  ResearchResult,
  ResearchRound,
  ResearchRunContext,
  ResearchRunner,
  ResearchSource,
  ResearchTask,
  StoredSource,
  ToolUsage,
  UsageEntry,
  resultSource,
  sourcesOf,
  RunEventType,
  PLAN_STEP,
  PlanReviewRequiredError,
  REVIEWED_PLAN_STEP,
  planJson,
  questionPlan,
} from '@app/research';
import { LlmError, LlmFailure } from '@app/llm';
import { ProviderFailureNote, SearchFailedError, summarizeFailures } from '@app/search';
import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { reportWording } from '../extractive/report-language';
import { BudgetExhaustedError, BudgetKind, BudgetTracker, Tool } from './budget';
import { reportProblems, templateLeftovers } from './grounding';
import { Gaps, Plan, Planner } from './planner.agent';
import { FindingForReview, FindingForWriting, SentenceForRevising, SentenceForVerifying } from './prompts';
import { Reader, SourceReading } from './reader.agent';
import { RenderedReport, SentenceShown, renderDraft, renderEvidenceList } from './render-report';
import { DraftReply, DraftSentence } from './schemas';
import { SearchOutcome, Searcher, firstRoundQueries } from './searcher.agent';
import { Verdict, Verifier } from './verifier.agent';
import { DraftRejectedError, Writer, allSentences } from './writer.agent';

/** Shares of every budget each stage may spend up to, so later stages can still write a report. */
const READ_SHARE = 0.6;
const WRITE_SHARE = 0.85;
const VERIFY_SHARE = 1;
const READ_CONCURRENCY = 8;

const Step = {
  Plan: PLAN_STEP,
  /** The first round's search keeps the name it had before there were rounds. */
  search: (round: number) => (round === 1 ? 'search' : `search:${round}`),
  gaps: (after: number) => `gaps:${after}`,
  read: (n: number) => `read:${n}`,
  Draft: 'draft',
  Verification: 'verification',
  Revision: 'revision',
  Reverification: 'reverification',
} as const;

/** Why the rounds of search and reading stopped. */
type StopReason =
  'answered' | 'depth' | 'budget' | 'no_new_queries' | 'no_new_sources' | 'search_failed' | 'gap_failed';

/** What became of one draft sentence: shown as written or rewritten, marked, or removed. */
interface SentenceOutcome {
  shown: DraftSentence;
  label: ClaimLabel;
  kept: boolean;
  rewritten: boolean;
}

/** A draft after its check: the sentences as they stand, how each is shown, and its claims. */
interface CheckedDraft {
  draft: DraftReply;
  shown: (sentence: DraftSentence) => SentenceShown;
  claims: ResearchClaim[];
}

/** One stage of the coordinator, for `runStep`. */
interface StageStep<T> {
  /** Its checkpoint's name. */
  key: string;
  /** Its name in events and logs. */
  stage: string;
  /** The agent whose usage its checkpoint and `stage.finished` carry. */
  agent?: string;
  /** Figures for `stage.started`. */
  started?: Record<string, unknown>;
  /** The value of a step completed by an earlier run, from its checkpoint. */
  resume: (data: unknown) => T | Promise<T>;
  /** Runs the stage: its value, its checkpoint unless it fell back, and figures for `stage.finished`. */
  work: () => Promise<{
    value: T;
    checkpoint?: { data: unknown; usage?: UsageEntry; tools?: Partial<Record<Tool, ToolUsage>> };
    finished: Record<string, unknown>;
  }>;
}

/**
 * The deep research engine: plan, search, read every source in parallel, write, verify. Each
 * completed step is stored, so a run that dies resumes where it stopped; every quote and
 * citation is checked in code; when a budget runs out the report is written from what was
 * gathered and marked partial.
 */
@Injectable()
export class DeepResearchRunner extends ResearchRunner {
  readonly engine = 'deep';
  private readonly logger = new Logger('DeepResearch');

  constructor(
    private readonly planner: Planner,
    private readonly searcher: Searcher,
    private readonly reader: Reader,
    private readonly writer: Writer,
    private readonly verifier: Verifier,
    private readonly config: AppConfig,
    @InjectMetric(Metric.BudgetExhausted) private readonly budgetExhausted: Counter<string>,
    @InjectMetric(Metric.Claims) private readonly claimsTotal: Counter<string>,
  ) {
    super();
  }

  @TrackResearchTask('coordinator')
  async run(task: ResearchTask, context: ResearchRunContext): Promise<ResearchResult> {
    const started = Date.now();
    const steps = await context.loadSteps();
    const budget = new BudgetTracker(
      task.params.budget ?? this.config.budgetDefaults,
      task.startedAt,
      steps,
      Date.now,
      this.costEnforced(),
    );
    const run = new Run(task, context, steps, budget);
    if (steps.size > 0) this.logger.log({ steps: [...steps.keys()] }, 'resuming after the completed steps');

    let result: ResearchResult;
    try {
      const plan = await this.planFor(run);
      run.plan = plan;
      await context.checkpoint();
      const { sources, readings } = await this.rounds(run, plan);
      result = await this.reportStep(run, sources, readings);
    } catch (error) {
      await this.keepSpending(run);
      throw error;
    }
    if (run.partial) this.budgetExhausted.inc({ budget: run.partial });
    result.stats.duration_ms = Date.now() - started;
    return result;
  }

  /** Cost is a limit only when every model the stages use has a price; otherwise it stays 0. */
  private costEnforced(): boolean {
    const llm = this.config.llm;
    if (!llm) return false;
    return [llm.model, ...Object.values(llm.stageModels)].every((model) => llm.prices[model] !== undefined);
  }

  /**
   * A run that ends without a result stores what it spent beyond its checkpoints (calls of steps
   * that failed or were cut short), so the ledger of the run that finishes still counts them.
   * Nothing can be stored once the research was cancelled or its lease lost.
   */
  private async keepSpending(run: Run): Promise<void> {
    const at = Date.now();
    try {
      for (const [stage, usage] of run.budget.unstored()) {
        await run.context.saveStep(`spent:${at}:${stage}`, null, stepUsage(stage, usage));
        run.budget.markStored(stage, usage);
      }
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'could not store the spending of the failed run');
    }
  }

  /**
   * The plan to search: the reviewed one once a research that asked for a review has it (the
   * planner is not asked again), else the planner's. A research that asked for a review and has
   * none yet stops here and waits for it; when planning failed, the plan shown is the question
   * itself, for its caller to replace.
   */
  private async planFor(run: Run): Promise<Plan> {
    const reviewed = run.steps.get(REVIEWED_PLAN_STEP);
    if (reviewed) return reviewed.data as Plan;
    const plan = await this.planStep(run);
    if (!run.task.params.reviewPlan) return plan;
    const fallback = plan.subQuestions.length === 0;
    throw new PlanReviewRequiredError(fallback ? questionPlan(run.task.question) : plan, fallback);
  }

  private planStep(run: Run): Promise<Plan> {
    return this.runStep(run, {
      key: Step.Plan,
      stage: 'plan',
      agent: 'planner',
      resume: (data) => data as Plan,
      work: async () => {
        try {
          const { plan, usage } = await run.withDeadline((signal) =>
            this.planner.plan(run.task.tenantId, run.task.question, run.task.params.language, run.budget, signal),
          );
          return {
            value: plan,
            checkpoint: { data: plan, usage },
            // The plan itself, so that a client following the events sees what will be searched.
            finished: { sub_questions: plan.subQuestions.length, plan: plan.subQuestions },
          };
        } catch (error) {
          // Without a plan the question itself is searched; the next run tries planning again.
          await this.fellBack(run, 'plan', error, 'question');
          return { value: { subQuestions: [] }, finished: { sub_questions: 0 } };
        }
      },
    });
  }

  /**
   * Search and read, then, while rounds are left, ask what is still open and search and read
   * again for it. Stops when every sub-question is answered, there is nothing new to search for or
   * find, a budget runs out, or `depth` rounds are done; why is in the result and the events.
   */
  private async rounds(
    run: Run,
    plan: Plan,
  ): Promise<{ sources: StoredSource[]; readings: Map<number, SourceReading> }> {
    const depth = run.task.params.depth ?? 1;
    const sources: StoredSource[] = [];
    const readings = new Map<number, SourceReading>();
    const queriesRun: string[] = [];
    const subQuestions = plan.subQuestions.length > 0 ? plan.subQuestions.map((s) => s.question) : [run.task.question];
    let queries = firstRoundQueries(run.task.question, plan);
    let stop: StopReason = 'depth';
    for (let round = 1; round <= depth; round += 1) {
      if (round > 1) {
        if (run.partial) {
          stop = 'budget';
          break;
        }
        const findings = numberFindings(sources, readings).map((f) => ({
          id: f.id,
          source: f.source,
          quote: f.quote,
          note: f.note,
          subQuestion: readings.get(f.source)?.findings.find((r) => r.start === f.start)?.subQuestion ?? 0,
        }));
        const gaps = await this.gapStep(run, round - 1, subQuestions, queriesRun, findings);
        if (!gaps) {
          stop = run.partial ? 'budget' : 'gap_failed';
          break;
        }
        if (gaps.open.length === 0 || gaps.queries.length === 0) {
          stop = gaps.open.length === 0 ? 'answered' : 'no_new_queries';
          break;
        }
        queries = gaps.queries;
      }
      queries = [...new Set(queries.map((q) => q.trim()).filter(Boolean))];
      const found = await this.searchStep(run, round, queries, sources);
      queriesRun.push(...queries);
      await run.context.checkpoint();
      const figures: ResearchRound = { round, queries, sources: found?.length ?? 0, sources_read: 0, findings: 0 };
      run.rounds.push(figures);
      if (found === null || found.length === 0) {
        stop = found === null ? 'search_failed' : 'no_new_sources';
        break;
      }
      sources.push(...found);
      const before = readings.size;
      const findingsBefore = countFindings(readings);
      await this.readStep(run, round, plan, found, readings);
      await run.context.checkpoint();
      figures.sources_read = readings.size - before;
      figures.findings = countFindings(readings) - findingsBefore;
    }
    if (stop === 'depth' && run.partial) stop = 'budget';
    run.stopReason = stop;
    await run.context.emit(RunEventType.RoundsStopped, { rounds: run.rounds.length, depth, reason: stop });
    this.logger.log({ rounds: run.rounds.length, depth, reason: stop }, 'rounds stopped');
    return { sources, readings };
  }

  private gapStep(
    run: Run,
    after: number,
    subQuestions: string[],
    queriesRun: string[],
    findings: FindingForReview[],
  ): Promise<Gaps | null> {
    return this.runStep<Gaps | null>(run, {
      key: Step.gaps(after),
      stage: 'gaps',
      agent: 'planner',
      started: { round: after, findings: findings.length },
      resume: (data) => data as Gaps,
      work: async () => {
        try {
          const { gaps, usage } = await run.withDeadline((signal) =>
            this.planner.followUp(
              run.task.tenantId,
              run.task.question,
              subQuestions,
              queriesRun,
              findings,
              run.budget,
              READ_SHARE,
              signal,
            ),
          );
          return {
            value: gaps,
            checkpoint: { data: gaps, usage },
            finished: { round: after, open: gaps.open, queries: gaps.queries },
          };
        } catch (error) {
          // Without a gap analysis the research reports what the rounds so far have gathered.
          await this.fellBack(run, 'gaps', error, 'report');
          return { value: null, finished: { round: after, budget_exhausted: run.partial } };
        }
      },
    });
  }

  /** A round's new sources; null when a follow-up round's search reached no provider. */
  private searchStep(
    run: Run,
    round: number,
    queries: string[],
    known: StoredSource[],
  ): Promise<StoredSource[] | null> {
    const { task } = run;
    const providers = sourcesOf(task.params);
    return this.runStep<StoredSource[] | null>(run, {
      key: Step.search(round),
      stage: 'search',
      started: { round, providers, queries },
      resume: async (data) => {
        // The sources the round added: numbered after those of the rounds before it.
        const { sources: added, unreadable } = data as { sources: number; unreadable?: string[] };
        run.unreadable.push(...(unreadable ?? []));
        return (await run.context.loadSources()).filter((s) => s.n > known.length && s.n <= known.length + added);
      },
      work: async () => {
        const scope = {
          tenantId: task.tenantId,
          question: task.question,
          language: task.params.language,
          providers,
          maxSources: task.params.maxSources,
        };
        let outcome: SearchOutcome;
        try {
          outcome = await this.searcher.search(scope, queries, run.context.signal, known, run.unreadable);
        } catch (error) {
          // The first round's search failing fails the research, retryably; a follow-up's ends the rounds.
          if (round === 1 || !(error instanceof SearchFailedError)) throw error;
          run.budget.count('search', { calls: queries.length * providers.length, failed: error.failures.length });
          await this.searchFailed(run, error.failures);
          return { value: null, finished: { round, failed: true } };
        }
        await this.searchFailed(run, outcome.searchFailures);
        for (const failure of outcome.readFailures) {
          await run.context.emit(RunEventType.SourceUnreadable, {
            provider: failure.provider,
            url: failure.url,
            reason: failure.reason,
          });
        }
        const { sources, found } = outcome;
        const unreadable = outcome.readFailures.flatMap((f) => (f.url ? [f.url] : []));
        run.unreadable.push(...unreadable);
        await run.context.saveSources(sources);
        const tools = {
          search: { calls: outcome.queries * providers.length, failed: outcome.searchFailures.length },
          fetch: {
            calls: sources.filter((s) => s.kind === 'web').length + outcome.readFailures.length,
            failed: outcome.readFailures.length,
          },
        };
        run.budget.count('search', tools.search);
        run.budget.count('fetch', tools.fetch);
        return {
          value: sources,
          checkpoint: { data: { sources: sources.length, queries: outcome.queries, unreadable }, tools },
          finished: {
            round,
            queries: outcome.queries,
            found,
            sources: sources.length,
            unreadable: outcome.readFailures.length,
          },
        };
      },
    });
  }

  private async searchFailed(run: Run, notes: readonly ProviderFailureNote[]): Promise<void> {
    for (const summary of summarizeFailures(notes)) await run.context.emit(RunEventType.SearchFailed, { ...summary });
  }

  /** Reads a round's sources into `readings`, those read by an earlier run from their checkpoints. */
  private async readStep(
    run: Run,
    round: number,
    plan: Plan,
    sources: StoredSource[],
    readings: Map<number, SourceReading>,
  ): Promise<void> {
    let alreadyRead = 0;
    for (const source of sources) {
      const done = run.steps.get(Step.read(source.n));
      if (done) {
        readings.set(source.n, done.data as SourceReading);
        alreadyRead += 1;
      }
    }
    const pending = sources.filter((source) => !readings.has(source.n));
    await run.context.emit(RunEventType.StageStarted, {
      stage: 'read',
      round,
      sources: pending.length,
      already_read: alreadyRead,
    });
    const subQuestions = plan.subQuestions.map((sub) => sub.question);
    await mapWithConcurrency(pending, READ_CONCURRENCY, async (source) => {
      if (run.partial) return;
      try {
        const { reading, usage } = await run.withDeadline((signal) =>
          this.reader.read(run.task.tenantId, run.task.question, subQuestions, source, run.budget, READ_SHARE, signal),
        );
        await run.save(Step.read(source.n), reading, 'reader', usage);
        readings.set(source.n, reading);
        await run.context.emit(RunEventType.SourceRead, {
          source: source.n,
          findings: reading.findings.length,
          dropped: reading.dropped,
          flagged: reading.flagged,
        });
      } catch (error) {
        // One source the model fails on is left out; the others are still read.
        const failure = run.failSoft(error);
        if (!failure) return;
        run.skipped.push({ source: source.n, failure });
        this.logger.warn({ source: source.n, reason: failure.failure, error: failure.message }, 'source skipped');
        await run.context.emit(RunEventType.SourceSkipped, { source: source.n, reason: failure.failure });
      }
    });
    // Nothing read, and the model could not be reached: there is nothing to report from.
    const unreachable = run.skipped.find(({ failure }) => failure.failure !== LlmFailure.InvalidOutput);
    if (readings.size === 0 && unreachable && !run.partial) throw unreachable.failure;
    const findings = countFindings(readings);
    const dropped = [...readings.values()].reduce((sum, r) => sum + r.dropped, 0);
    await run.context.emit(RunEventType.StageFinished, {
      stage: 'read',
      round,
      sources_read: readings.size,
      skipped: run.skipped.length,
      findings,
      dropped,
      ...run.stageUsage('reader'),
    });
    this.logger.log({ stage: 'read', round, sources_read: readings.size, findings, dropped }, 'stage finished');
  }

  private async reportStep(
    run: Run,
    stored: StoredSource[],
    readings: Map<number, SourceReading>,
  ): Promise<ResearchResult> {
    const { task } = run;
    const wording = reportWording(task.params.language);
    const sources = stored.map(resultSource);
    const findings = numberFindings(stored, readings);
    const withEvidence = new Set(findings.map((f) => f.source)).size;
    const result = (report: { markdown: string }, claims: ResearchClaim[], evidence: ResearchResult['evidence']) =>
      this.result(run, report.markdown, sources, findings, claims, evidence, readings);

    // Why the report is less than it could be, first the budget, then the sources left out.
    const notices = [
      ...(run.partial ? [wording.partial(run.partial)] : []),
      ...(run.skipped.length > 0 && readings.size > 0 ? [wording.sourcesSkipped(run.skipped.length)] : []),
    ];
    const evidenceList = (...messages: string[]) =>
      renderEvidenceList(task.question, [...notices, ...messages], findings, sources, task.params.language);

    if (withEvidence < this.config.evidenceMinSources) {
      // Too little to write from: say so, show what there is, and write nothing from memory.
      const evidence = withEvidence === 0 ? 'none' : 'insufficient';
      // A budget that ran out before any source was read: its notice is the whole reason.
      const message =
        withEvidence > 0
          ? wording.insufficientEvidence(withEvidence, this.config.evidenceMinSources)
          : readings.size === 0 && run.skipped.length > 0
            ? wording.readingFailed(run.skipped.length)
            : readings.size === 0 && run.partial
              ? null
              : sources.length > 0
                ? wording.noFindings(sources.length)
                : wording.noEvidence;
      await run.context.emit(RunEventType.StageFinished, { stage: 'write', evidence });
      return result(this.checked(evidenceList(...(message ? [message] : []))), [], evidence);
    }

    const forWriting: FindingForWriting[] = findings.map((f) => ({
      id: f.id,
      source: f.source,
      quote: f.quote,
      note: f.note,
    }));
    const draft = await this.draftStep(run, forWriting);
    if (!draft) {
      // No draft: a budget ran out before or while writing (the notice says which), the writer
      // failed, or its draft was rejected.
      const why = run.partial ? [] : [run.failed === 'writer' ? wording.writerFailed : wording.draftRejected];
      return result(this.checked(evidenceList(...why)), [], 'sufficient');
    }

    const checked = await this.checkStep(run, forWriting, draft);
    if (run.failed === 'verifier') {
      // A report that could not be checked is not shown as if it had been.
      return result(this.checked(evidenceList(wording.verifierFailed)), [], 'sufficient');
    }
    if (!checked.draft.sections.some((section) => section.sentences.some((s) => checked.shown(s) !== 'omitted'))) {
      // Every sentence of the sections was removed as unsupported: the findings are all that is left.
      return result(this.checked(evidenceList(wording.draftRejected)), checked.claims, 'sufficient');
    }
    const report = renderDraft(
      checked.draft,
      findings,
      sources,
      wording,
      task.params.verify ? notices : [...notices, wording.notVerified],
      checked.shown,
    );
    const problems = [
      ...reportProblems(report.markdown, sources.length, report.sentences),
      ...templateLeftovers(report.markdown, [
        task.question,
        ...stored.map((s) => s.title),
        ...findings.map((f) => f.quote),
      ]),
    ];
    if (problems.length > 0) {
      // A report that fails the checks is never stored: the findings are listed instead.
      this.logger.error({ problems }, 'rendered report failed its checks; writing the evidence list');
      return result(this.checked(evidenceList(wording.draftRejected)), checked.claims, 'sufficient');
    }
    return result(report, checked.claims, 'sufficient');
  }

  /**
   * The service's own wording must never show an unfilled `{placeholder}`: the evidence list
   * is built from fixed wording and verbatim quotes only, so any leftover is a bug to stop on.
   */
  private checked(report: RenderedReport): RenderedReport {
    const leftovers = templateLeftovers(report.markdown, report.verbatim);
    if (leftovers.length > 0) throw new Error(`the report has unfilled placeholders: ${leftovers.join(', ')}`);
    return report;
  }

  private draftStep(run: Run, findings: FindingForWriting[]): Promise<DraftReply | null> {
    // Reading that stopped at its share of a budget leaves the writer its own: it is asked unless
    // its share is gone too (the tracker refuses the call before it is made).
    return this.runStep<DraftReply | null>(run, {
      key: Step.Draft,
      stage: 'write',
      agent: 'writer',
      started: { findings: findings.length },
      resume: (data) => data as DraftReply,
      work: async () => {
        try {
          const { draft, usage, rewritten } = await run.withDeadline((signal) =>
            this.writer.write(
              run.task.tenantId,
              run.task.question,
              run.task.params.language,
              findings,
              run.budget,
              WRITE_SHARE,
              signal,
            ),
          );
          return {
            value: draft,
            checkpoint: { data: draft, usage },
            finished: { rewritten, sections: draft.sections.length },
          };
        } catch (error) {
          if (error instanceof DraftRejectedError) {
            this.logger.warn({ problems: error.problems }, 'draft rejected; reporting the evidence list');
            return { value: null, finished: { rejected: true, problems: error.problems.slice(0, 5) } };
          }
          if (await this.fellBack(run, 'write', error, 'evidence_list')) run.failed = 'writer';
          return { value: null, finished: { budget_exhausted: run.partial } };
        }
      },
    });
  }

  /**
   * Every sentence that cites findings is judged against their quotes. One not supported is
   * rewritten once and judged again; what is then unsupported or contradicted is removed, and what
   * is only partially supported, or was never judged, stays marked as unverified. Synthesis
   * sentences are marked as such and not judged. Without verification every sentence is shown as
   * written under a notice that says so.
   */
  private async checkStep(run: Run, findings: FindingForWriting[], draft: DraftReply): Promise<CheckedDraft> {
    const byId = new Map(findings.map((f) => [f.id, f]));
    const written = allSentences(draft);
    const forVerifying = (id: number, sentence: DraftSentence): SentenceForVerifying => ({
      id,
      text: sentence.text,
      findings: sentence.findings.map((fid) => byId.get(fid) as FindingForWriting),
    });
    const outcomes = written.map((sentence): SentenceOutcome => ({
      shown: sentence,
      label: sentence.synthesis ? 'synthesis' : 'unverified',
      kept: true,
      rewritten: false,
    }));
    if (run.task.params.verify) {
      const cited = written.flatMap((s, i) => (s.synthesis ? [] : [forVerifying(i + 1, s)]));
      const first = await this.verifyStep(run, Step.Verification, cited);
      if (run.failed === 'verifier') return { draft, shown: () => 'omitted', claims: [] };
      for (const verdict of first) outcomes[verdict.sentence - 1]!.label = verdict.label;

      const flagged: SentenceForRevising[] = first
        .filter((v) => v.label !== 'supported' && v.label !== 'unverified')
        .map((v) => ({ ...forVerifying(v.sentence, written[v.sentence - 1]!), label: v.label, reason: v.reason }));
      const revisions = flagged.length > 0 ? await this.reviseStep(run, findings, flagged) : new Map();
      const revised = [...revisions].flatMap(([n, sentence]) => (sentence ? [forVerifying(n, sentence)] : []));
      const second = revised.length > 0 ? await this.verifyStep(run, Step.Reverification, revised) : [];
      const secondOf = new Map(second.map((v) => [v.sentence, v]));
      for (const { id } of flagged) {
        const outcome = outcomes[id - 1]!;
        const revision = revisions.get(id);
        if (revision === null) {
          outcome.kept = false;
          continue;
        }
        if (revision) {
          outcome.shown = { ...revision, synthesis: false };
          outcome.rewritten = true;
          outcome.label = secondOf.get(id)?.label ?? 'unverified';
        }
        outcome.kept = outcome.label !== 'unsupported' && outcome.label !== 'contradicted';
      }
    }

    const show = new Map<DraftSentence, SentenceShown>();
    for (const outcome of outcomes) {
      const marked = run.task.params.verify && outcome.label !== 'supported' && outcome.label !== 'synthesis';
      show.set(outcome.shown, !outcome.kept ? 'omitted' : marked ? 'unverified' : 'plain');
    }
    let next = 0;
    const replace = (list: DraftSentence[]) => list.map(() => outcomes[next++]!.shown);
    const checked: DraftReply = {
      ...draft,
      sections: draft.sections.map((section) => ({ ...section, sentences: replace(section.sentences) })),
      conclusion: replace(draft.conclusion),
    };
    const sourceOf = new Map(findings.map((f) => [f.id, f.source]));
    const claims = outcomes.map(({ shown, label, kept, rewritten }) => ({
      text: shown.text,
      label,
      findings: shown.findings,
      sources: [...new Set(shown.findings.map((id) => sourceOf.get(id) as number))].sort((a, b) => a - b),
      kept,
      rewritten,
    }));
    for (const claim of claims) this.claimsTotal.inc({ label: claim.label });
    return { draft: checked, shown: (sentence) => show.get(sentence) ?? 'plain', claims };
  }

  private verifyStep(run: Run, key: string, sentences: SentenceForVerifying[]): Promise<Verdict[]> {
    const again = key === Step.Reverification;
    return this.runStep(run, {
      key,
      stage: again ? 'reverify' : 'verify',
      agent: 'verifier',
      started: { sentences: sentences.length },
      resume: (data) => data as Verdict[],
      work: async () => {
        try {
          const { verdicts, usage } = await run.withDeadline((signal) =>
            this.verifier.verify(run.task.tenantId, sentences, run.budget, VERIFY_SHARE, signal),
          );
          const labels = countBy(verdicts.map((v) => v.label));
          return { value: verdicts, checkpoint: { data: verdicts, usage }, finished: { ...labels } };
        } catch (error) {
          // A first check that failed leaves an unchecked report, which is not shown; a second
          // check that failed leaves its rewrites marked as unverified.
          if (
            (await this.fellBack(run, again ? 'reverify' : 'verify', error, again ? 'marked' : 'evidence_list')) &&
            !again
          )
            run.failed = 'verifier';
          const unverified = sentences.map((s): Verdict => ({ sentence: s.id, label: 'unverified', reason: '' }));
          return { value: unverified, finished: { budget_exhausted: run.partial } };
        }
      },
    });
  }

  private reviseStep(
    run: Run,
    findings: FindingForWriting[],
    sentences: SentenceForRevising[],
  ): Promise<Map<number, DraftSentence | null>> {
    return this.runStep(run, {
      key: Step.Revision,
      stage: 'revise',
      agent: 'writer',
      started: { sentences: sentences.length },
      resume: (data) => new Map(data as [number, DraftSentence | null][]),
      work: async () => {
        try {
          const { revisions, usage } = await run.withDeadline((signal) =>
            this.writer.revise(
              run.task.tenantId,
              run.task.question,
              run.task.params.language,
              findings,
              sentences,
              run.budget,
              VERIFY_SHARE,
              signal,
            ),
          );
          const removed = [...revisions.values()].filter((r) => r === null).length;
          return {
            value: revisions,
            checkpoint: { data: [...revisions], usage },
            finished: { rewritten: revisions.size - removed, removed },
          };
        } catch (error) {
          // Without rewrites each sentence keeps its first verdict: removed, or marked.
          await this.fellBack(run, 'revise', error, 'marked');
          return { value: new Map(), finished: { budget_exhausted: run.partial } };
        }
      },
    });
  }

  /**
   * One stage, the same way every time: a step completed by an earlier run is resumed from its
   * checkpoint without running again; otherwise `stage.started`, the work, its checkpoint when it
   * has one (a fallback has none, so the next run tries again), then `stage.finished` with its
   * figures and its agent's usage, and the same figures in the log.
   */
  private async runStep<T>(run: Run, step: StageStep<T>): Promise<T> {
    const done = run.steps.get(step.key);
    if (done) return step.resume(done.data);
    await run.context.emit(RunEventType.StageStarted, { stage: step.stage, ...step.started });
    const { value, checkpoint, finished } = await step.work();
    if (checkpoint) await run.save(step.key, checkpoint.data, step.agent, checkpoint.usage, checkpoint.tools);
    await run.context.emit(RunEventType.StageFinished, {
      stage: step.stage,
      ...finished,
      ...(step.agent ? run.stageUsage(step.agent) : {}),
    });
    this.logger.log({ stage: step.stage, ...finished }, 'stage finished');
    return value;
  }

  /**
   * A stage the model failed for good: logged and recorded as `stage.failed` with what the
   * research does instead. False when a budget ended it (the report's notice says so); anything
   * that is not the model's failure goes on up.
   */
  private async fellBack(
    run: Run,
    stage: string,
    error: unknown,
    fallback: 'question' | 'evidence_list' | 'marked' | 'report',
  ): Promise<boolean> {
    const failure = run.failSoft(error);
    if (!failure) return false;
    this.logger.warn({ stage, reason: failure.failure, error: failure.message, fallback }, 'stage failed');
    await run.context.emit(RunEventType.StageFailed, { stage, reason: failure.failure, fallback });
    return true;
  }

  private result(
    run: Run,
    report: string,
    sources: ResearchSource[],
    findings: ResearchFinding[],
    claims: ResearchClaim[],
    evidence: ResearchResult['evidence'],
    readings: Map<number, SourceReading>,
  ): ResearchResult {
    const counted = (label: string) => claims.filter((c) => c.kept && c.label === label).length;
    return {
      engine: this.engine,
      language: run.task.params.language,
      report,
      evidence,
      partial: run.partialReason() !== null,
      partial_reason: run.partialReason(),
      sources,
      findings,
      claims,
      plan: run.plan && planJson(run.plan),
      rounds: run.rounds,
      stop_reason: run.stopReason,
      usage: run.budget.usage(),
      stats: {
        sources: sources.length,
        sources_read: readings.size,
        findings: findings.length,
        findings_dropped: [...readings.values()].reduce((sum, r) => sum + r.dropped, 0),
        // A reading checkpointed before findings were flagged has no count.
        findings_flagged: [...readings.values()].reduce((sum, r) => sum + (r.flagged ?? 0), 0),
        sources_skipped: run.skipped.length,
        rounds: run.rounds.length,
        sentences: claims.length,
        sentences_supported: counted('supported'),
        sentences_marked: claims.filter((c) => c.kept && ['partially_supported', 'unverified'].includes(c.label))
          .length,
        sentences_synthesis: counted('synthesis'),
        sentences_removed: claims.filter((c) => !c.kept).length,
        sentences_rewritten: claims.filter((c) => c.rewritten).length,
      },
    };
  }
}

/** The state of one run of the coordinator. */
class Run {
  partial: BudgetKind | null = null;
  /** Sources the reader failed on for good, left out of the report. */
  readonly skipped: { source: number; failure: LlmError }[] = [];
  /** The stage whose failure turned the report into the evidence list. */
  failed: 'writer' | 'verifier' | null = null;
  plan: Plan | null = null;
  readonly rounds: ResearchRound[] = [];
  /** Pages a round failed to fetch: not tried again by the next. */
  readonly unreadable: string[] = [];
  stopReason: StopReason | null = null;

  constructor(
    readonly task: ResearchTask,
    readonly context: ResearchRunContext,
    readonly steps: Map<string, CompletedStep>,
    readonly budget: BudgetTracker,
  ) {}

  /** Stores a completed step with what its agent spent, and the tools it used. */
  async save(
    key: string,
    data: unknown,
    agent?: string,
    usage?: UsageEntry,
    tools?: Partial<Record<Tool, ToolUsage>>,
  ): Promise<void> {
    const spent = usage && agent ? stepUsage(agent, usage) : {};
    await this.context.saveStep(key, data, tools ? { ...spent, tools } : spent);
    if (usage && agent) this.budget.markStored(agent, usage);
  }

  /** Runs a stage with a signal that also aborts at the research's deadline. */
  async withDeadline<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = AbortSignal.any([this.context.signal, AbortSignal.timeout(Math.max(1, this.budget.remainingMs()))]);
    try {
      return await work(signal);
    } catch (error) {
      this.context.signal.throwIfAborted();
      if (this.budget.remainingMs() <= 0) throw this.budget.exhaust('time');
      throw error;
    }
  }

  /**
   * A stage that fails is not the research's end: a spent budget ends gathering (null), and an
   * LLM call that failed for good (errors, time-outs, replies that never matched the schema) is
   * returned for the stage to fall back on. Anything else goes on up: a cancellation, an open
   * circuit (the research waits for the model), a bug.
   */
  failSoft(error: unknown): LlmError | null {
    if (error instanceof BudgetExhaustedError) {
      this.partial ??= error.budget;
      return null;
    }
    if (error instanceof LlmError) return error;
    throw error;
  }

  /** Why the report is less than complete, the first cause first; null when it is complete. */
  partialReason(): string | null {
    if (this.partial) return `budget_${this.partial}`;
    if (this.failed) return `${this.failed}_failed`;
    return this.skipped.length > 0 ? 'sources_skipped' : null;
  }

  stageUsage(stage: string): Record<string, number> {
    const entry = this.budget.usage().stages[stage];
    return entry
      ? { calls: entry.calls, prompt_tokens: entry.prompt_tokens, completion_tokens: entry.completion_tokens }
      : {};
  }
}

function stepUsage(stage: string, usage: UsageEntry): Record<string, unknown> {
  return { stage, ...usage };
}

/** Findings numbered F1, F2... in source order: the same ids on every run of a research. */
function numberFindings(sources: StoredSource[], readings: Map<number, SourceReading>): ResearchFinding[] {
  const findings: ResearchFinding[] = [];
  for (const source of sources) {
    for (const finding of readings.get(source.n)?.findings ?? []) {
      findings.push({
        id: `F${findings.length + 1}`,
        source: source.n,
        quote: finding.quote,
        start: finding.start,
        end: finding.end,
        score: null,
        note: finding.note || null,
      });
    }
  }
  return findings;
}

function countFindings(readings: Map<number, SourceReading>): number {
  return [...readings.values()].reduce((sum, r) => sum + r.findings.length, 0);
}

function countBy(labels: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

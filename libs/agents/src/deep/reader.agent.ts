import { AppConfig } from '@app/config';
import { LlmClient } from '@app/llm';
import { PassageSpan, TextProcessor } from '@app/search';
import { Metric, TrackResearchTask } from '@app/observability';
import { StoredSource, UsageEntry } from '@app/research';
import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { BudgetTracker } from './budget';
import { QuoteLocation, locateQuote } from './grounding';
import { readsAsInstruction } from './instruction-like';
import { askModel } from './model-call';
import { readMessages } from './prompts';
import { FindingsReply, findingsSchema } from './schemas';

/** A finding whose quote was found in the source: `source.text.slice(start, end) === quote`. */
export interface SourceFinding {
  quote: string;
  start: number;
  end: number;
  note: string;
  subQuestion: number;
}

export interface SourceReading {
  findings: SourceFinding[];
  /** Findings the model gave whose quote is not in the source. */
  dropped: number;
  /**
   * Findings left out because their quote or note is addressed to a model ("ignore previous
   * instructions…"): a source that steers its reader must not steer the writer through them.
   */
  flagged: number;
}

const MAX_READ_TOKENS = 1500;
/** Between two excerpts of a long source in the reader's prompt. */
export const EXCERPT_BREAK = '\n\n[…]\n\n';

/**
 * Extracts findings from one source, keeping only quotes that are really in its text and that
 * state something rather than instruct a model.
 */
@Injectable()
export class Reader {
  constructor(
    private readonly llm: LlmClient,
    private readonly config: AppConfig,
    private readonly text: TextProcessor,
    @InjectMetric(Metric.FindingsDropped) private readonly droppedTotal: Counter<string>,
  ) {}

  @TrackResearchTask('reader')
  async read(
    tenantId: string,
    question: string,
    subQuestions: string[],
    source: StoredSource,
    budget: BudgetTracker,
    share: number,
    signal: AbortSignal,
  ): Promise<{ reading: SourceReading; usage: UsageEntry }> {
    // A long source is read in its passages most relevant to the question and sub-questions,
    // chosen in a worker thread: ranking a page of megabytes would hold up the lease renewals.
    const { passages: settings } = this.config;
    const passages = await this.text.rankPassages(
      {
        text: source.text,
        questions: [question, ...subQuestions],
        limits: { size: settings.size, overlap: settings.overlap },
        budget: settings.readerTokens,
      },
      signal,
    );
    const text = passages.map((passage) => source.text.slice(passage.start, passage.end)).join(EXCERPT_BREAK);
    const { response, usage } = await askModel<FindingsReply>(this.llm, budget, {
      tenantId,
      stage: 'reader',
      share,
      messages: readMessages(question, subQuestions, { n: source.n, title: source.title, text }),
      schema: findingsSchema(subQuestions.length),
      maxTokens: MAX_READ_TOKENS,
      minTokens: 256,
      temperature: 0,
      signal,
    });

    const findings: SourceFinding[] = [];
    let dropped = 0;
    let flagged = 0;
    for (const finding of response.value.findings) {
      const location = locateInPassages(source.text, passages, finding.quote);
      if (!location) {
        dropped += 1;
        continue;
      }
      if (readsAsInstruction(location.text) || readsAsInstruction(finding.note)) {
        flagged += 1;
        continue;
      }
      if (findings.some((known) => location.start < known.end && known.start < location.end)) continue;
      findings.push({
        quote: location.text,
        start: location.start,
        end: location.end,
        note: finding.note.trim(),
        subQuestion: finding.sub_question,
      });
    }
    if (dropped > 0) this.droppedTotal.inc({ reason: 'quote_not_found' }, dropped);
    if (flagged > 0) this.droppedTotal.inc({ reason: 'instruction' }, flagged);
    return { reading: { findings: findings.sort((a, b) => a.start - b.start), dropped, flagged }, usage };
  }
}

/** Where a quote is in the whole text: found within one of the passages read (a quote never spans two). */
function locateInPassages(text: string, passages: readonly PassageSpan[], quote: string): QuoteLocation | null {
  for (const passage of passages) {
    const found = locateQuote(text.slice(passage.start, passage.end), quote);
    if (found) return { ...found, start: passage.start + found.start, end: passage.start + found.end };
  }
  return null;
}

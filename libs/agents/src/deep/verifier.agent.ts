import { mapWithConcurrency } from '@app/common';
import { LlmClient } from '@app/llm';
import { TrackResearchTask } from '@app/observability';
import { UsageEntry } from '@app/research';
import { Injectable } from '@nestjs/common';
import { BudgetTracker, addUsage, emptyUsage } from './budget';
import { askModel } from './model-call';
import { SentenceForVerifying, verifyMessages } from './prompts';
import { VerdictLabel, VerificationReply, verificationSchema } from './schemas';

const SENTENCES_PER_CALL = 12;
const VERIFY_CONCURRENCY = 4;
const MAX_VERIFY_TOKENS = 2000;

/** The verifier's judgement of one sentence; `unverified` when it gave none. */
export interface Verdict {
  sentence: number;
  label: VerdictLabel | 'unverified';
  reason: string;
}

/** Judges each sentence against the quotes of the findings it cites, and nothing else. */
@Injectable()
export class Verifier {
  constructor(private readonly llm: LlmClient) {}

  @TrackResearchTask('verifier')
  async verify(
    tenantId: string,
    sentences: SentenceForVerifying[],
    budget: BudgetTracker,
    share: number,
    signal: AbortSignal,
  ): Promise<{ verdicts: Verdict[]; usage: UsageEntry }> {
    const batches: SentenceForVerifying[][] = [];
    for (let i = 0; i < sentences.length; i += SENTENCES_PER_CALL)
      batches.push(sentences.slice(i, i + SENTENCES_PER_CALL));
    const usage = emptyUsage();

    const replies = await mapWithConcurrency(batches, VERIFY_CONCURRENCY, async (batch) => {
      const ids = batch.map((s) => s.id);
      const { response, usage: spent } = await askModel<VerificationReply>(this.llm, budget, {
        tenantId,
        stage: 'verifier',
        share,
        messages: verifyMessages(batch),
        schema: verificationSchema(Math.min(...ids), Math.max(...ids)),
        maxTokens: MAX_VERIFY_TOKENS,
        minTokens: 256,
        temperature: 0,
        signal,
      });
      addUsage(usage, spent);
      return response.value.verdicts.filter((verdict) => ids.includes(verdict.sentence));
    });

    // One verdict per sentence: the first given for it; a sentence given none stays unverified.
    const given = new Map<number, Verdict>();
    for (const verdict of replies.flat()) {
      if (!given.has(verdict.sentence)) given.set(verdict.sentence, { ...verdict, reason: verdict.reason.trim() });
    }
    const verdicts = sentences.map(
      (s): Verdict => given.get(s.id) ?? { sentence: s.id, label: 'unverified', reason: 'no verdict was given' },
    );
    return { verdicts, usage };
  }
}

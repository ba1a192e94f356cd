import { mapWithConcurrency } from '@app/common';
import { LlmClient } from '@app/llm';
import { Metric, TrackResearchTask } from '@app/observability';
import { ResearchClaim, UsageEntry } from '@app/research';
import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { BudgetTracker, addUsage, emptyUsage } from './budget';
import { askModel } from './model-call';
import { FindingForWriting, SentenceForVerifying, verifyMessages } from './prompts';
import { VerificationReply, verificationSchema } from './schemas';

const SENTENCES_PER_CALL = 12;
const VERIFY_CONCURRENCY = 4;
const MAX_VERIFY_TOKENS = 3000;

export interface VerifiedClaim extends ResearchClaim {
  /** The draft sentence (1-based) the claim was split from. */
  sentence: number;
}

/** Splits the draft into atomic claims and labels each against the findings. */
@Injectable()
export class Verifier {
  constructor(
    private readonly llm: LlmClient,
    @InjectMetric(Metric.Claims) private readonly claimsTotal: Counter<string>,
  ) {}

  @TrackResearchTask('verifier')
  async verify(
    tenantId: string,
    findings: FindingForWriting[],
    sentences: SentenceForVerifying[],
    budget: BudgetTracker,
    share: number,
    signal: AbortSignal,
  ): Promise<{ claims: VerifiedClaim[]; usage: UsageEntry }> {
    const sourceOf = new Map(findings.map((f) => [f.id, f.source]));
    const batches: SentenceForVerifying[][] = [];
    for (let i = 0; i < sentences.length; i += SENTENCES_PER_CALL)
      batches.push(sentences.slice(i, i + SENTENCES_PER_CALL));
    const usage = emptyUsage();
    const ids = findings.map((f) => f.id);

    const replies = await mapWithConcurrency(batches, VERIFY_CONCURRENCY, async (batch) => {
      const { response, usage: spent } = await askModel<VerificationReply>(this.llm, budget, {
        tenantId,
        stage: 'verifier',
        share,
        messages: verifyMessages(findings, batch),
        schema: verificationSchema(ids, batch[0]!.id, batch[batch.length - 1]!.id),
        maxTokens: MAX_VERIFY_TOKENS,
        minTokens: 256,
        temperature: 0,
        signal,
      });
      addUsage(usage, spent);
      const numbers = new Set(batch.map((s) => s.id));
      return response.value.claims.filter((claim) => numbers.has(claim.sentence));
    });

    const claims: VerifiedClaim[] = [];
    for (const claim of replies.flat()) {
      const known = claim.findings.filter((id) => sourceOf.has(id));
      claims.push({
        sentence: claim.sentence,
        text: claim.claim.trim(),
        // A claim cannot be supported by findings that do not exist.
        label: claim.label === 'supported' && known.length === 0 ? 'unverified' : claim.label,
        findings: known,
        sources: [...new Set(known.map((id) => sourceOf.get(id) as number))].sort((a, b) => a - b),
      });
    }
    for (const sentence of sentences) {
      if (!claims.some((claim) => claim.sentence === sentence.id)) {
        claims.push({ sentence: sentence.id, text: sentence.text, label: 'unverified', findings: [], sources: [] });
      }
    }
    claims.sort((a, b) => a.sentence - b.sentence);
    for (const claim of claims) this.claimsTotal.inc({ label: claim.label });
    return { claims, usage };
  }
}

import { LlmClient } from '@app/llm';
import { TrackResearchTask } from '@app/observability';
import { UsageEntry } from '@app/research';
import { Injectable, Logger } from '@nestjs/common';
import {
  inRequestedLanguage,
  inRequestedScript,
  isTraditionalChinese,
  languageName,
  reportWording,
  simplifiedCharacters,
} from '../extractive/report-language';
import { BudgetTracker, addUsage, emptyUsage } from './budget';
import { askModel } from './model-call';
import { FindingForWriting, SentenceForRevising, reviseMessages, writeMessages } from './prompts';
import { DraftReply, DraftSentence, RevisionReply, draftSchema, revisionSchema } from './schemas';

const MAX_DRAFT_TOKENS = 4000;

/** The writer gave no usable draft even after being told what was wrong with it. */
export class DraftRejectedError extends Error {
  constructor(readonly problems: string[]) {
    super(`the draft was rejected: ${problems.slice(0, 3).join('; ')}`);
    this.name = 'DraftRejectedError';
  }
}

/**
 * What is wrong with a draft: sentences that cite no finding or an unknown one, empty text, prose
 * in another language than the one asked for, and Simplified characters when Traditional Chinese
 * was asked for.
 */
export function draftProblems(draft: DraftReply, findingIds: ReadonlySet<string>, language: string): string[] {
  const problems: string[] = [];
  const foreign = (text: string, where: string) => {
    if (!inRequestedLanguage(text, language)) problems.push(`${where} is not written in ${languageName(language)}`);
  };
  draft.sections.forEach((section, s) => {
    section.sentences.forEach((sentence, i) => {
      const where = `section ${s + 1} sentence ${i + 1}`;
      if (sentence.text.trim().length === 0) problems.push(`${where} is empty`);
      foreign(sentence.text, where);
      if (sentence.findings.length === 0) problems.push(`${where} cites no finding; every section sentence must`);
      for (const id of sentence.findings) {
        if (!findingIds.has(id)) problems.push(`${where} cites ${id}, which is not a finding id`);
      }
    });
  });
  draft.conclusion.forEach((sentence, i) => {
    foreign(sentence.text, `conclusion sentence ${i + 1}`);
    if (sentence.findings.length === 0 && !sentence.synthesis) {
      problems.push(
        `conclusion sentence ${i + 1} cites no finding and is not marked as synthesis; cite findings or mark it`,
      );
    }
    for (const id of sentence.findings) {
      if (!findingIds.has(id)) problems.push(`conclusion sentence ${i + 1} cites ${id}, which is not a finding id`);
    }
  });
  if (isTraditionalChinese(language)) {
    const text = [draft.title, draft.uncertainty, ...allSentences(draft).map((s) => s.text)]
      .concat(draft.sections.map((s) => s.heading))
      .join('\n');
    const simplified = simplifiedCharacters(text);
    if (simplified.length > 0) {
      problems.push(
        `the draft uses Simplified Chinese characters (${simplified.join('')}); write in Traditional characters only`,
      );
    }
  }
  return problems;
}

export function allSentences(draft: DraftReply): DraftSentence[] {
  return [...draft.sections.flatMap((section) => section.sentences), ...draft.conclusion];
}

/**
 * Makes a draft valid by removing what cannot be backed or read: unknown finding ids, section
 * sentences left without a finding, sentences in another language than the one asked for, empty
 * sentences and sections. A conclusion sentence that cites nothing is shown as the writer's
 * synthesis, and one that cites findings is verified as any other. Never adds anything.
 */
export function repairDraft(draft: DraftReply, findingIds: ReadonlySet<string>, language: string): DraftReply {
  const keep = (sentence: DraftSentence): DraftSentence => ({
    text: inRequestedLanguage(sentence.text, language) ? sentence.text.trim() : '',
    findings: [...new Set(sentence.findings.filter((id) => findingIds.has(id)))],
  });
  const concluding = (sentence: DraftSentence): DraftSentence => {
    const kept = keep(sentence);
    return { ...kept, synthesis: kept.findings.length === 0 };
  };
  return {
    title: draft.title.trim(),
    sections: draft.sections
      .map((section) => ({
        heading: section.heading.trim(),
        sentences: section.sentences.map(keep).filter((s) => s.text.length > 0 && s.findings.length > 0),
      }))
      .filter((section) => section.sentences.length > 0),
    conclusion: draft.conclusion.map(concluding).filter((s) => s.text.length > 0),
    uncertainty: draft.uncertainty.trim(),
  };
}

/** Every text of a draft in the requested script; the finding ids untouched. */
function inScript(draft: DraftReply, language: string): DraftReply {
  if (!isTraditionalChinese(language)) return draft;
  const convert = (text: string) => inRequestedScript(text, language);
  const sentence = (s: DraftSentence) => ({ ...s, text: convert(s.text) });
  return {
    title: convert(draft.title),
    sections: draft.sections.map((section) => ({
      heading: convert(section.heading),
      sentences: section.sentences.map(sentence),
    })),
    conclusion: draft.conclusion.map(sentence),
    uncertainty: convert(draft.uncertainty),
  };
}

/** Writes the report from the findings, in the requested language, citing findings by id. */
@Injectable()
export class Writer {
  private readonly logger = new Logger('Writer');

  constructor(private readonly llm: LlmClient) {}

  @TrackResearchTask('writer')
  async write(
    tenantId: string,
    question: string,
    language: string,
    findings: FindingForWriting[],
    budget: BudgetTracker,
    share: number,
    signal: AbortSignal,
  ): Promise<{ draft: DraftReply; usage: UsageEntry; rewritten: boolean }> {
    const ids = new Set(findings.map((f) => f.id));
    const instruction = reportWording(language).instruction;
    const usage = emptyUsage();
    const schema = draftSchema([...ids]);
    const ask = async (problems: string[]) => {
      const { response, usage: spent } = await askModel<DraftReply>(this.llm, budget, {
        tenantId,
        stage: 'writer',
        share,
        messages: writeMessages(question, instruction, findings, problems),
        schema,
        maxTokens: MAX_DRAFT_TOKENS,
        minTokens: 512,
        temperature: 0.3,
        signal,
      });
      addUsage(usage, spent);
      // Simplified characters in a Traditional Chinese report are converted here, not paid for again.
      return inScript(response.value, language);
    };

    let draft = await ask([]);
    let problems = draftProblems(draft, ids, language);
    let rewritten = false;
    if (problems.length > 0) {
      this.logger.warn({ problems: problems.slice(0, 10) }, 'draft has problems; asking for a rewrite');
      draft = await ask(problems);
      problems = draftProblems(draft, ids, language);
      rewritten = true;
    }
    const repaired = repairDraft(draft, ids, language);
    const remaining = draftProblems(repaired, ids, language);
    if (remaining.length > 0 || repaired.sections.length === 0) {
      throw new DraftRejectedError(remaining.length > 0 ? remaining : ['no section sentence cites a finding']);
    }
    if (problems.length > 0)
      this.logger.warn({ problems: problems.slice(0, 10) }, 'draft repaired by removing sentences');
    return { draft: repaired, usage, rewritten };
  }

  /**
   * Rewrites, once, the sentences the verifier did not find supported, told the verdict and shown
   * the quotes they cite. Each comes back rewritten, or null when the writer removed it or its
   * rewrite cannot be used (another language, no known finding); a sentence the reply leaves out
   * is not in the map.
   */
  @TrackResearchTask('writer')
  async revise(
    tenantId: string,
    question: string,
    language: string,
    findings: FindingForWriting[],
    sentences: SentenceForRevising[],
    budget: BudgetTracker,
    share: number,
    signal: AbortSignal,
  ): Promise<{ revisions: Map<number, DraftSentence | null>; usage: UsageEntry }> {
    const ids = new Set(findings.map((f) => f.id));
    const { response, usage } = await askModel<RevisionReply>(this.llm, budget, {
      tenantId,
      stage: 'writer',
      share,
      messages: reviseMessages(question, reportWording(language).instruction, findings, sentences),
      schema: revisionSchema(
        sentences.map((s) => s.id),
        [...ids],
      ),
      maxTokens: MAX_DRAFT_TOKENS,
      minTokens: 256,
      temperature: 0,
      signal,
    });
    const asked = new Set(sentences.map((s) => s.id));
    const revisions = new Map<number, DraftSentence | null>();
    for (const revision of response.value.sentences) {
      if (!asked.has(revision.sentence) || revisions.has(revision.sentence)) continue;
      const text = inRequestedScript(revision.text.trim(), language);
      const cited = [...new Set(revision.findings.filter((id) => ids.has(id)))];
      const usable = text.length > 0 && cited.length > 0 && inRequestedLanguage(text, language);
      revisions.set(revision.sentence, usable ? { text, findings: cited } : null);
    }
    return { revisions, usage };
  }
}

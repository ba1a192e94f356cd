import { ResearchFinding, ResearchSource } from '@app/research';
import { ReportWording } from '../extractive/report-language';
import { CitedSentence } from './grounding';
import { DraftReply, DraftSentence } from './schemas';

/** A rendered report, with what its checks need. */
export interface RenderedReport {
  markdown: string;
  /** Each sentence with what it cites. */
  sentences: CitedSentence[];
  /** Texts shown as written by the user or a source, which may hold braces of their own. */
  verbatim: string[];
}

function singleLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Brackets would read as citations or links. */
function escapeMarkdown(text: string): string {
  return text.replace(/([\\[\]])/g, '\\$1');
}

function sourceList(sources: ResearchSource[], wording: ReportWording): string[] {
  return [
    `## ${wording.sources}`,
    '',
    ...sources.map((source) => {
      const title = escapeMarkdown(singleLine(source.title));
      return `${source.n}. ${source.url ? `[${title}](${source.url})` : title}`;
    }),
  ];
}

/**
 * Renders a validated draft under its notices (why it is partial): each sentence followed by the numbers of the sources its findings
 * come from, then the conclusion with its uncertainty, then every source read. Returns the
 * sentences with what they cite, for the final check.
 */
export function renderDraft(
  draft: DraftReply,
  findings: ResearchFinding[],
  sources: ResearchSource[],
  wording: ReportWording,
  notices: readonly string[],
  omitted: ReadonlySet<DraftSentence> = new Set(),
): RenderedReport {
  const sourceOf = new Map(findings.map((f) => [f.id, f.source]));
  const sentences: CitedSentence[] = [];
  const render = (sentence: DraftSentence) => {
    const numbers = [...new Set(sentence.findings.map((id) => sourceOf.get(id) as number))].sort((a, b) => a - b);
    sentences.push({ text: sentence.text, sources: numbers, findingSources: numbers });
    const text = escapeMarkdown(singleLine(sentence.text));
    return numbers.length > 0 ? `${text} ${numbers.map((n) => `[${n}]`).join('')}` : text;
  };

  const lines = [`# ${escapeMarkdown(singleLine(draft.title))}`, ''];
  for (const notice of notices) lines.push(`> ${notice}`, '');
  for (const section of draft.sections) {
    const kept = section.sentences.filter((s) => !omitted.has(s));
    if (kept.length === 0) continue;
    lines.push(`## ${escapeMarkdown(singleLine(section.heading))}`, '', kept.map(render).join(' '), '');
  }
  const conclusion = draft.conclusion.filter((s) => !omitted.has(s)).map(render);
  if (draft.uncertainty) conclusion.push(escapeMarkdown(singleLine(draft.uncertainty)));
  lines.push(`## ${wording.conclusion}`, '', conclusion.join(' '), '');
  lines.push(...sourceList(sources, wording), '');
  return { markdown: lines.join('\n'), sentences, verbatim: sources.map((source) => source.title) };
}

/**
 * The report written without a model: the question, why (no or too little evidence, a budget
 * run out), each finding quoted with its source number, and the sources read.
 */
export function renderEvidenceList(
  question: string,
  messages: readonly string[],
  findings: ResearchFinding[],
  sources: ResearchSource[],
  wording: ReportWording,
): RenderedReport {
  const lines = [`# ${escapeMarkdown(singleLine(question))}`, ''];
  for (const message of messages) lines.push(message, '');
  const sentences: CitedSentence[] = [];
  if (findings.length > 0) {
    lines.push(`## ${wording.findings}`, '');
    for (const finding of findings) {
      lines.push(
        `- ${wording.openQuote}${escapeMarkdown(singleLine(finding.quote))}${wording.closeQuote} [${finding.source}]`,
      );
      sentences.push({ text: finding.quote, sources: [finding.source], findingSources: [finding.source] });
    }
    lines.push('');
  }
  if (sources.length > 0) lines.push(...sourceList(sources, wording), '');
  const verbatim = [question, ...findings.map((finding) => finding.quote), ...sources.map((source) => source.title)];
  return { markdown: lines.join('\n'), sentences, verbatim };
}

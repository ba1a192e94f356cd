import { ResearchFinding, ResearchSource } from '@app/research';
import { ReportWording, foreignQuoteLanguage, reportWording } from '../extractive/report-language';
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

/** After a sentence the verifier could not confirm from the quotes it cites. */
export const UNVERIFIED_MARK = '⚠';
/** After a sentence of the writer's own synthesis, which cites no finding. */
export const SYNTHESIS_MARK = '◇';

/** How a draft sentence is shown: as written, marked unverified, or left out. */
export type SentenceShown = 'plain' | 'unverified' | 'omitted';

/**
 * Renders a validated draft under its notices (why it is partial): each sentence followed by the
 * numbers of the sources its findings come from and its mark, if any, then the conclusion with
 * its uncertainty, what the marks used mean, and every source read. Returns the sentences with
 * what they cite, for the final check.
 */
export function renderDraft(
  draft: DraftReply,
  findings: ResearchFinding[],
  sources: ResearchSource[],
  wording: ReportWording,
  notices: readonly string[],
  shown: (sentence: DraftSentence) => SentenceShown = () => 'plain',
): RenderedReport {
  const sourceOf = new Map(findings.map((f) => [f.id, f.source]));
  const sentences: CitedSentence[] = [];
  const marks = new Set<string>();
  const mark = (text: string, which: string) => {
    marks.add(which);
    return `${text} ${which}`;
  };
  const render = (sentence: DraftSentence) => {
    const numbers = [...new Set(sentence.findings.map((id) => sourceOf.get(id) as number))].sort((a, b) => a - b);
    sentences.push({ text: sentence.text, sources: numbers, findingSources: numbers });
    const text = escapeMarkdown(singleLine(sentence.text));
    const cited = numbers.length > 0 ? `${text} ${numbers.map((n) => `[${n}]`).join('')}` : text;
    if (sentence.synthesis) return mark(cited, SYNTHESIS_MARK);
    return shown(sentence) === 'unverified' ? mark(cited, UNVERIFIED_MARK) : cited;
  };
  const kept = (list: DraftSentence[]) => list.filter((s) => shown(s) !== 'omitted');

  const lines = [`# ${escapeMarkdown(singleLine(draft.title))}`, ''];
  for (const notice of notices) lines.push(`> ${notice}`, '');
  for (const section of draft.sections) {
    const shownHere = kept(section.sentences);
    if (shownHere.length === 0) continue;
    lines.push(`## ${escapeMarkdown(singleLine(section.heading))}`, '', shownHere.map(render).join(' '), '');
  }
  const conclusion = kept(draft.conclusion).map(render);
  // What remains uncertain is the writer's own judgement of the findings, and is marked as such.
  if (draft.uncertainty) conclusion.push(mark(escapeMarkdown(singleLine(draft.uncertainty)), SYNTHESIS_MARK));
  lines.push(`## ${wording.conclusion}`, '', conclusion.join(' '), '');
  if (marks.has(UNVERIFIED_MARK)) lines.push(`${UNVERIFIED_MARK} ${wording.unverifiedMark}`, '');
  if (marks.has(SYNTHESIS_MARK)) lines.push(`${SYNTHESIS_MARK} ${wording.synthesisMark}`, '');
  lines.push(...sourceList(sources, wording), '');
  return { markdown: lines.join('\n'), sentences, verbatim: sources.map((source) => source.title) };
}

/**
 * The report written without a model: the question, why (no or too little evidence, a budget
 * run out), each finding quoted with its source number under a heading for its source, and the sources read.
 */
export function renderEvidenceList(
  question: string,
  messages: readonly string[],
  findings: ResearchFinding[],
  sources: ResearchSource[],
  language: string,
): RenderedReport {
  const wording = reportWording(language);
  const lines = [`# ${escapeMarkdown(singleLine(question))}`, ''];
  for (const message of messages) lines.push(message, '');
  const sentences: CitedSentence[] = [];
  if (findings.length > 0) {
    // Under a heading for each source; a quote in another language than the report's says which.
    lines.push(`## ${wording.findings}`, '');
    for (const source of sources) {
      const quoted = findings.filter((finding) => finding.source === source.n);
      if (quoted.length === 0) continue;
      lines.push(`### ${wording.sourceHeading(source.n, escapeMarkdown(singleLine(source.title)))}`, '');
      for (const finding of quoted) {
        const foreign = foreignQuoteLanguage(finding.quote, language);
        lines.push(
          `- ${wording.openQuote}${escapeMarkdown(singleLine(finding.quote))}${wording.closeQuote} [${finding.source}]` +
            (foreign ? wording.quotedIn(foreign) : ''),
        );
        sentences.push({ text: finding.quote, sources: [finding.source], findingSources: [finding.source] });
      }
      lines.push('');
    }
  }
  if (sources.length > 0) lines.push(...sourceList(sources, wording), '');
  const verbatim = [question, ...findings.map((finding) => finding.quote), ...sources.map((source) => source.title)];
  return { markdown: lines.join('\n'), sentences, verbatim };
}

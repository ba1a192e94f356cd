import { queryTerms, splitSentences } from '@app/search';
import { FakeLlmServer } from './fake-llm/fake-llm.server';
import { FakeLlmMessage, FakeLlmRequest } from './fake-llm/fake-llm.types';

/**
 * Makes the fake LLM answer the research pipeline's prompts like a careful model would: plans
 * from the question's words, findings quoted verbatim from the source, drafts that cite the
 * findings given, in the language asked for, and verification labels. Tests then break it on
 * purpose with faults.
 */
export function installResearchResponders(server: FakeLlmServer): void {
  server.respond('research_plan', plan);
  server.respond('source_findings', findings);
  server.respond('gap_analysis', gaps);
  server.respond('report_draft', draft);
  server.respond('sentence_verification', verification);
  server.respond('sentence_revision', revision);
}

function text(message: FakeLlmMessage | undefined): string {
  if (!message) return '';
  if (typeof message.content === 'string') return message.content;
  return (message.content ?? []).map((part) => part.text ?? '').join('');
}

/** Every user message: a repair request repeats the conversation, data first. */
function user(request: FakeLlmRequest): string {
  return request.messages
    .filter((m) => m.role === 'user')
    .map(text)
    .join('\n');
}

function system(request: FakeLlmRequest): string {
  return text(request.messages.find((m) => m.role === 'system'));
}

function tag(content: string, name: string): string {
  return new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(content)?.[1]?.trim() ?? '';
}

function plan(request: FakeLlmRequest): unknown {
  const question = tag(user(request), 'question');
  const terms = queryTerms(question);
  const third = Math.max(1, Math.ceil(terms.length / 3));
  const groups = [terms.slice(0, third), terms.slice(third, 2 * third), terms.slice(2 * third)];
  return {
    sub_questions: groups.map((group, index) => ({
      question: `${question} (${index + 1})`,
      queries: [group.length > 0 ? group.join(' ') : question],
    })),
  };
}

function findings(request: FakeLlmRequest): unknown {
  const content = user(request);
  const source = /<source id="S\d+"[^>]*>\n([\s\S]*)\n<\/source>/.exec(content)?.[1] ?? '';
  const terms = queryTerms(tag(content, 'question'));
  // The first sub-question, or 0 (none) when the schema allows no other: there was no plan.
  const subQuestion = Math.min(1, subQuestionMaximum(request.schema) ?? 1);
  const chosen = splitSentences(source)
    .filter((sentence) => !sentence.text.startsWith('#'))
    .filter((sentence) => terms.some((term) => sentence.text.toLowerCase().includes(term)))
    .slice(0, 3);
  return {
    findings: chosen.map((sentence) => ({
      quote: sentence.text,
      note: `States: ${sentence.text.slice(0, 40)}`,
      sub_question: subQuestion,
    })),
  };
}

/**
 * A careful gap analysis: a sub-question no finding answers is open, and is searched again with
 * its words in another order (a careful model does not repeat a query word for word).
 */
function gaps(request: FakeLlmRequest): unknown {
  const content = user(request);
  const subQuestions = tag(content, 'sub_questions')
    .split('\n')
    .map((line) => /^(\d+)\. (.*)$/.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ n: Number(match[1]), text: match[2] as string }));
  const answered = new Set([...content.matchAll(/<finding [^>]*sub_question="(\d+)"/g)].map((m) => Number(m[1])));
  const open = subQuestions.filter((sub) => !answered.has(sub.n));
  return {
    sub_questions: subQuestions.map((sub) => ({
      sub_question: sub.n,
      status: answered.has(sub.n) ? 'answered' : 'unanswered',
    })),
    queries: open
      .map((sub) => queryTerms(sub.text).reverse().join(' '))
      .filter(Boolean)
      .slice(0, 4),
  };
}

function subQuestionMaximum(schema: Record<string, unknown> | undefined): number | undefined {
  const findings = (
    schema?.properties as Record<string, { items?: { properties?: Record<string, { maximum?: number }> } }>
  )?.findings;
  return findings?.items?.properties?.sub_question?.maximum;
}

interface GivenFinding {
  id: string;
  source: number;
  quote: string;
}

function givenFindings(content: string): GivenFinding[] {
  return [...content.matchAll(/<finding id="(F\d+)" source="(\d+)"[^>]*>([\s\S]*?)<\/finding>/g)].map((match) => ({
    id: match[1] as string,
    source: Number(match[2]),
    quote: match[3] as string,
  }));
}

type Script = 'traditional' | 'simplified' | 'english';

const HAN = /\p{Script=Han}/u;

function scriptOf(request: FakeLlmRequest): Script {
  const instruction = system(request);
  if (instruction.includes('Traditional Chinese')) return 'traditional';
  if (instruction.includes('Simplified Chinese')) return 'simplified';
  return 'english';
}

const WORDS: Record<
  Script,
  {
    evidence: (n: number) => string;
    says: string;
    end: string;
    conclusion: string;
    uncertainty: string;
    /** What a careful writer says of a quote in another script than the report's, instead of copying it. */
    foreignQuote: string;
    /** The careful writer's own judgement across the findings, marked as synthesis. */
    synthesis: string;
  }
> = {
  traditional: {
    evidence: (n) => `來源 ${n} 的證據`,
    says: '資料指出：',
    end: '。',
    conclusion: '綜合以上資料，可以得出初步結論。',
    uncertainty: '以上結論只根據有限的文件，其他資料可能改變這些判斷。',
    foreignQuote: '另一種語言的來源也提供了相關證據。',
    synthesis: '各來源的說法大致一致。',
  },
  simplified: {
    evidence: (n) => `来源 ${n} 的证据`,
    says: '资料指出：',
    end: '。',
    conclusion: '综合以上资料，可以得出初步结论。',
    uncertainty: '以上结论只根据有限的文件，其他资料可能改变这些判断。',
    foreignQuote: '另一种语言的来源也提供了相关证据。',
    synthesis: '各来源的说法大致一致。',
  },
  english: {
    evidence: (n) => `Evidence from source ${n}`,
    says: 'The evidence shows that ',
    end: '.',
    conclusion: 'Taken together, the sources support a preliminary conclusion.',
    uncertainty: 'These conclusions rest on a small set of documents and may change with more evidence.',
    foreignQuote: 'A source in another language gives related evidence.',
    synthesis: 'The sources broadly agree with one another.',
  },
};

function draft(request: FakeLlmRequest): unknown {
  const content = user(request);
  const given = givenFindings(content);
  const script = scriptOf(request);
  const words = WORDS[script];
  const bySource = new Map<number, GivenFinding[]>();
  for (const finding of given) bySource.set(finding.source, [...(bySource.get(finding.source) ?? []), finding]);
  return {
    title: tag(content, 'question'),
    sections: [...bySource].slice(0, 6).map(([source, items]) => ({
      heading: words.evidence(source),
      sentences: items.slice(0, 10).map((finding) => ({
        // A Chinese quote is not copied into English prose: a careful writer says it in the report's language.
        text:
          script === 'english' && HAN.test(finding.quote)
            ? words.foreignQuote
            : `${words.says}${finding.quote.replace(/[。.!?！？]+$/, '')}${words.end}`,
        findings: [finding.id],
      })),
    })),
    conclusion: [
      { text: words.conclusion, findings: given.slice(0, 1).map((f) => f.id), synthesis: false },
      { text: words.synthesis, findings: [], synthesis: true },
    ],
    uncertainty: words.uncertainty,
  };
}

interface SentenceToCheck {
  id: number;
  text: string;
  quotes: string[];
}

function sentencesToCheck(content: string): SentenceToCheck[] {
  return [...content.matchAll(/<sentence id="(\d+)"[^>]*>\n<text>([\s\S]*?)<\/text>\n([\s\S]*?)<\/sentence>/g)].map(
    (match) => ({
      id: Number(match[1]),
      text: match[2] as string,
      quotes: [...(match[3] as string).matchAll(/<quote [^>]*>([\s\S]*?)<\/quote>/g)].map((q) => q[1] as string),
    }),
  );
}

const squash = (text: string) =>
  text
    .replace(/\s+/g, ' ')
    .replace(/[。.!?！？]+$/, '')
    .trim()
    .toLowerCase();

/**
 * What a sentence asserts beyond the careful writer's framing: its own wording ("The evidence
 * shows that …", the conclusion, the note on a foreign-language source) asserts nothing more
 * than the quotes it cites.
 */
function assertion(text: string): string {
  let rest = squash(text);
  for (const words of Object.values(WORDS)) {
    for (const framing of [words.conclusion, words.foreignQuote]) if (rest === squash(framing)) return '';
    const says = squash(words.says);
    if (rest.startsWith(says)) rest = rest.slice(says.length).trim();
  }
  return rest;
}

/**
 * A careful verifier: a sentence is supported when what it asserts is in one of its quotes,
 * partially supported when its first half is, and otherwise unsupported.
 */
function verification(request: FakeLlmRequest): unknown {
  return {
    verdicts: sentencesToCheck(user(request)).map(({ id, text, quotes }) => {
      const claim = assertion(text);
      const inQuotes = (part: string) => quotes.some((quote) => squash(quote).includes(part));
      const half = claim.slice(0, Math.ceil(claim.length / 2));
      const label =
        claim === '' || inQuotes(claim)
          ? 'supported'
          : half.length >= 12 && inQuotes(half)
            ? 'partially_supported'
            : 'unsupported';
      return { sentence: id, label, reason: label === 'supported' ? '' : 'The quotes do not state all of it.' };
    }),
  };
}

/** A careful reviser: says what the sentence's first quote says, citing that finding. */
function revision(request: FakeLlmRequest): unknown {
  const content = user(request);
  const words = WORDS[scriptOf(request)];
  return {
    sentences: [
      ...content.matchAll(
        /<sentence id="(\d+)"[^>]*>\n<text>[\s\S]*?<\/text>\n<quote finding="(F\d+)"[^>]*>([\s\S]*?)<\/quote>/g,
      ),
    ].map((match) => ({
      sentence: Number(match[1]),
      text: `${words.says}${(match[3] as string).replace(/[。.!?！？]+$/, '')}${words.end}`,
      findings: [match[2] as string],
    })),
  };
}

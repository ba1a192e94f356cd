import { FakeLlmServer, TestStack, installResearchResponders, sleep, waitFor } from '@app/testing';

const SIMPLIFIED = /[这们个说为对发会时国来过还进动产经济业实现电体机关开问题长与学样应点种]/;

/**
 * The deep engine through api + worker + PostgreSQL + Redis, against a fake OpenAI-compatible
 * server driven by the request's JSON schema, called through the real openai SDK.
 */
describe('deep research engine', () => {
  let llm: FakeLlmServer;
  let stack: TestStack;

  beforeAll(async () => {
    llm = await FakeLlmServer.start({ models: ['qwen-72b', 'judge-14b'] });
    installResearchResponders(llm);
    stack = await TestStack.create({
      label: 'deep',
      env: {
        LLM_BASE_URL: llm.baseUrl,
        LLM_API_KEY: 'sk-test',
        // The recommended set-up: sentences are judged by another model than the one that wrote them.
        LLM_STAGE_MODELS: 'verifier=judge-14b',
        LLM_MAX_RETRIES: '2',
        RESEARCH_ATTEMPTS: '2',
        // These tests count every call the model gets; the cache has its own test below.
        LLM_CACHE_TTL_SECONDS: '0',
      },
    });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    await stack.startApi();
    // Six documents that all answer one question, for the parallelism and budget tests.
    for (let i = 1; i <= 6; i += 1) {
      await stack.addDocument({
        title: `Lithium battery supply note ${i}`,
        text:
          `Lithium battery supply tightened in region ${i} during 2024. ` +
          `Battery makers in region ${i} reported lithium prices falling late in 2024. ` +
          `Unrelated sentence number ${i} about the weather.`,
      });
    }
    await stack.startWorker();
  });

  beforeEach(() => {
    llm.reset();
  });

  afterAll(async () => {
    await stack?.teardown();
    await llm?.stop();
  });

  const sourcesOf = (id: string) =>
    stack.database.query<{ n: number; text: string; title: string }>(
      `SELECT n, text, title FROM research_sources WHERE research_id = $1 ORDER BY n`,
      [id],
    );

  it('writes a cited zh-TW report in Traditional Chinese whose every quote and citation checks out', async () => {
    const id = await stack.submit({
      question: '2024年全球AI晶片市場分析',
      max_sources: 10,
      verify: true,
      language: 'zh-TW',
    });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    const { result } = research;
    expect(result).toMatchObject({ engine: 'deep', language: 'zh-TW', evidence: 'sufficient', partial: false });

    // Headings follow the requested language; the prose is Traditional.
    expect(result.report).toContain('## 結論');
    expect(result.report).toContain('## 資料來源');
    const prose = result.report.split('\n').filter((line: string) => !/^\d+\. /.test(line));
    expect(prose.join('\n')).not.toMatch(SIMPLIFIED);

    // Every finding's quote is the stored source text at its offsets.
    const sources = await sourcesOf(id);
    expect(sources.map((s) => s.n)).toEqual(result.sources.map((s: { n: number }) => s.n));
    expect(result.findings.length).toBeGreaterThan(3);
    for (const finding of result.findings) {
      const text = sources.find((s) => s.n === finding.source)?.text ?? '';
      expect(text.slice(finding.start, finding.end)).toBe(finding.quote);
    }
    // Every citation points to a stored source that has a finding.
    const withFindings = new Set(result.findings.map((f: { source: number }) => f.source));
    const cited = [...result.report.matchAll(/\[(\d+)\](?!\()/g)].map((m) => Number(m[1]));
    expect(cited.length).toBeGreaterThan(0);
    for (const n of cited) expect(withFindings.has(n)).toBe(true);
    // One claim per sentence: each cites findings and is supported, or is the writer's synthesis,
    // shown with its mark and the mark explained in Traditional Chinese.
    expect(result.claims.length).toBeGreaterThan(3);
    for (const claim of result.claims) {
      expect(claim).toMatchObject({ kept: true, rewritten: false });
      if (claim.label === 'synthesis') {
        expect(claim.findings).toEqual([]);
        expect(result.report).toContain(`${claim.text} ◇`);
      } else {
        expect(claim.label).toBe('supported');
        expect(claim.findings.length).toBeGreaterThan(0);
      }
      for (const findingId of claim.findings)
        expect(result.findings.map((f: { id: string }) => f.id)).toContain(findingId);
    }
    expect(result.claims.filter((c: { label: string }) => c.label === 'synthesis')).toHaveLength(1);
    expect(result.report).toContain('◇ 標示此記號的句子是撰寫者對研究發現的綜合判斷');
    expect(result.report).not.toContain('⚠');
    expect(result.stats).toMatchObject({ sentences_removed: 0, sentences_marked: 0, sentences_synthesis: 1 });

    // The ledger adds up, and matches the calls the LLM server saw.
    const { usage } = result;
    const stageCalls = Object.values(usage.stages as Record<string, { calls: number }>).reduce(
      (sum, s) => sum + s.calls,
      0,
    );
    expect(usage.total.calls).toBe(stageCalls);
    expect(usage.total.calls).toBe(llm.calls.length);
    // Search calls are counted too: one per query and provider; the corpus needs no page fetched.
    expect(usage.search.calls).toBe(
      result.rounds.reduce((n: number, r: { queries: string[] }) => n + r.queries.length, 0),
    );
    expect(usage.search.failed).toBe(0);
    expect(usage.fetch).toEqual({ calls: 0, failed: 0 });
    // No LLM_PRICES here: the cost limit cannot be enforced, and the result says so.
    expect(usage.budget.cost_enforced).toBe(false);
    expect(Object.keys(usage.stages).sort()).toEqual(['planner', 'reader', 'verifier', 'writer']);
    expect(llm.callsFor('source_findings')).toHaveLength(result.sources.length);
    expect(llm.calls.every((call) => call.authorization === 'Bearer sk-test')).toBe(true);
    // The verifier's own model judges; the others write.
    const verifying = llm.callsFor('sentence_verification');
    expect(verifying.length).toBeGreaterThan(0);
    expect(verifying.every((call) => call.model === 'judge-14b')).toBe(true);
    expect(llm.calls.filter((call) => call.model !== 'judge-14b')).toHaveLength(llm.calls.length - verifying.length);
    expect(llm.calls.every((call) => call.model === 'judge-14b' || call.model === 'qwen-72b')).toBe(true);
    // The verifier saw each sentence with the quotes it cites.
    expect(String(verifying[0]?.messages[1]?.content)).toMatch(
      /<text>[^<]+<\/text>\n<quote finding="F\d+" source="\d+">/,
    );
    // The writer was told the script.
    const writerPrompt = JSON.stringify(llm.callsFor('report_draft')[0]?.messages);
    expect(writerPrompt).toContain('Traditional Chinese');
  });

  it('runs independent LLM calls in parallel: wall time follows the critical path, not the sum', async () => {
    llm.setLatency(200);
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6, depth: 1 });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    // plan, 6 reads, the draft, and the 13 sentences verified in 2 batches: 10 calls of 200 ms, 2 s in
    // sequence. The critical path is 4 calls: plan, the reads together, draft, the batches together.
    expect(llm.callsFor('source_findings')).toHaveLength(6);
    expect(llm.callsFor('sentence_verification')).toHaveLength(2);
    const calls = llm.calls.length;
    expect(calls).toBe(10);
    const wall = Date.parse(research.finished_at) - Date.parse(research.started_at);
    expect(wall).toBeGreaterThanOrEqual(800);
    expect(wall).toBeLessThan(calls * 200 * 0.75);
    expect(llm.maxInFlight).toBeGreaterThanOrEqual(6);
  });

  it('never stores a fabricated quote or a citation to an unknown finding', async () => {
    const fabricated = 'NVIDIA shipped ten million quantum accelerators to the Moon in 2024.';
    llm.inject(
      {
        transform: (reply) => {
          const value = reply as { findings: { quote: string; note: string; sub_question: number }[] };
          return { findings: [...value.findings, { quote: fabricated, note: 'made up', sub_question: 1 }] };
        },
      },
      { schema: 'source_findings', times: Infinity },
    );
    llm.inject(
      {
        transform: (reply) => {
          const value = reply as { sections: { heading: string; sentences: { text: string; findings: string[] }[] }[] };
          value.sections[0]?.sentences.push({ text: 'An uncited invention about Mars.', findings: ['F999'] });
          return value;
        },
      },
      { schema: 'report_draft', times: Infinity },
    );
    const id = await stack.submit({ question: 'AI accelerator supply 2024', language: 'en' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    const { result } = research;
    expect(result.report).not.toContain('Moon');
    expect(result.report).not.toContain('Mars');
    expect(result.findings.map((f: { quote: string }) => f.quote)).not.toContain(fabricated);
    expect(result.stats.findings_dropped).toBe(llm.callsFor('source_findings').length);
    // The writer was asked with the finding ids as an enum: a strict server could not have
    // named F999. This one did, twice: both replies failed the schema, and the findings are
    // listed instead of a report that cites what does not exist.
    const drafts = llm.callsFor('report_draft');
    expect(drafts).toHaveLength(2);
    const enumerated = JSON.stringify(drafts[0]?.schema);
    expect(enumerated).toContain(`"enum":${JSON.stringify(result.findings.map((f: { id: string }) => f.id))}`);
    expect(JSON.stringify(drafts[1]?.messages)).toContain('must be equal to one of the allowed values');
    expect(result).toMatchObject({ partial: true, partial_reason: 'writer_failed' });
    expect(result.report).toContain('The model could not write the report');
    const citations = [...result.report.matchAll(/\[(\d+)\](?!\()/g)].map((m) => Number(m[1]));
    for (const n of citations) expect(n).toBeLessThanOrEqual(result.sources.length);
  });

  it('converts a draft in Simplified characters to Traditional in code when zh-TW was asked for', async () => {
    llm.inject(
      {
        transform: (reply) => {
          const value = reply as { title: string };
          return { ...value, title: '这是简体的标题，说明国际市场的软件' };
        },
      },
      { schema: 'report_draft', call: 1 },
    );
    const id = await stack.submit({ question: 'HBM 記憶體 2024 供應', language: 'zh-TW' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    // No rewrite was paid for: OpenCC converted the title, with Taiwan's phrases.
    expect(llm.callsFor('report_draft')).toHaveLength(1);
    expect(research.result.report).toContain('# 這是簡體的標題，說明國際市場的軟體');
    expect(research.result.report).not.toMatch(SIMPLIFIED);
  });

  it('has a zh-TW draft written in English prose rewritten once, in Traditional Chinese', async () => {
    llm.inject(
      {
        transform: (reply) => {
          const draft = reply as { sections: { sentences: { text: string }[] }[] };
          for (const section of draft.sections)
            for (const sentence of section.sentences) sentence.text = 'The evidence shows that supply was short.';
          return draft;
        },
      },
      { schema: 'report_draft', call: 1 },
    );
    const id = await stack.submit({ question: 'HBM 記憶體 2024 供應', language: 'zh-TW' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    const drafts = llm.callsFor('report_draft');
    expect(drafts).toHaveLength(2);
    expect(JSON.stringify(drafts[1]?.messages)).toContain('is not written in Chinese (Taiwan)');
    expect(research.result.report).not.toContain('The evidence shows');
    expect(research.result.report).toContain('資料指出');
  });

  it('lists the evidence under a plain notice when the draft is rejected, never an unfilled template', async () => {
    // Both drafts cite no finding at all: they match the schema, fail the checks in code, and
    // nothing survives the repair.
    const citeNothingReal = (reply: unknown) => {
      const draft = reply as { sections: { heading: string; sentences: { text: string; findings: string[] }[] }[] };
      return {
        ...draft,
        sections: draft.sections.map((section) => ({
          ...section,
          sentences: section.sentences.map((sentence) => ({ ...sentence, findings: [] })),
        })),
      };
    };
    llm.inject({ transform: citeNothingReal }, { schema: 'report_draft', times: 2 });
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6, language: 'en' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    expect(llm.callsFor('report_draft')).toHaveLength(2);
    const { result } = research;
    expect(result).toMatchObject({ evidence: 'sufficient', partial: false });
    expect(result.report).toContain('The written draft did not pass the citation checks');
    expect(result.report).not.toMatch(/\{\w+\}|fewer than|insufficient/i);
    // Every finding is quoted with its source number.
    expect(result.findings.length).toBeGreaterThan(1);
    for (const finding of result.findings) expect(result.report).toContain(`[${finding.source}]`);
  });

  it('stops at the budget and writes a partial report with a correct ledger', async () => {
    const id = await stack.submit({
      question: 'lithium battery supply 2024',
      max_sources: 6,
      budget: { max_llm_calls: 5 },
    });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    expect(research.budget).toMatchObject({ max_llm_calls: 5 });
    const { result } = research;
    expect(result).toMatchObject({ partial: true, partial_reason: 'budget_llm_calls' });
    expect(result.usage.budget).toEqual({
      limits: expect.objectContaining({ llm_calls: 5 }),
      exhausted: 'llm_calls',
      cost_enforced: false,
    });
    expect(result.usage.total.calls).toBe(llm.calls.length);
    expect(result.usage.total.calls).toBeLessThanOrEqual(5);
    // Reading stopped at its share; the writer still had its own, and wrote from what was read.
    expect(result.stats.sources_read).toBeLessThan(6);
    expect(result.usage.stages.writer.calls).toBeGreaterThan(0);
    expect(llm.callsFor('report_draft').length).toBeGreaterThan(0);
    expect(result.report).toContain('This report is partial: the LLM call budget ran out');
    expect(result.report).toMatch(/\[\d\]/);
  });

  it('ends at the time budget with the calls that were cut off in the ledger, and says so truthfully', async () => {
    llm.inject({ hang: true }, { schema: 'source_findings', times: Infinity });
    const id = await stack.submit({
      question: 'lithium battery supply 2024',
      max_sources: 6,
      language: 'en',
      budget: { max_seconds: 5 },
    });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    const { result } = research;
    expect(result).toMatchObject({ evidence: 'none', partial: true, partial_reason: 'budget_time' });
    expect(result.usage.budget.exhausted).toBe('time');
    // Every read that the deadline cut off is a call in the ledger.
    const reads = llm.callsFor('source_findings').length;
    expect(reads).toBe(6);
    expect(result.usage.stages.reader).toMatchObject({ calls: reads, outcomes: { aborted: reads } });
    expect(result.usage.total.calls).toBe(llm.calls.length);
    // The sources were not read, not found empty: only the budget's notice says why.
    expect(result.report).toContain('This report is partial: the time budget ran out');
    expect(result.report).not.toMatch(/holds evidence|No source found/);
  });

  it('refuses a budget above the configured maximum', async () => {
    const response = await stack.http.post('/api/v1/research', { question: 'q', budget: { max_llm_calls: 100000 } });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([
      {
        field: 'budget.max_llm_calls',
        message: 'budget.max_llm_calls must not be greater than 400 (RESEARCH_BUDGET_LLM_CALLS_MAX)',
      },
    ]);
  });

  it('honours Retry-After on a 429, strips <think> blocks and repairs invalid JSON', async () => {
    llm.inject({ status: 429, retryAfter: 1 }, { schema: 'research_plan' });
    llm.inject({ think: true }, { schema: 'source_findings', times: Infinity });
    llm.inject({ invalidJson: true }, { schema: 'report_draft' });
    const id = await stack.submit({ question: 'AI chip export controls', language: 'en' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');

    const plans = llm.callsFor('research_plan');
    expect(plans.map((c) => c.status)).toEqual([429, 200]);
    expect(plans[1]!.receivedAt - plans[0]!.answeredAt!).toBeGreaterThanOrEqual(950);
    expect(llm.callsFor('source_findings').every((c) => c.content?.startsWith('<think>'))).toBe(true);
    expect(research.result.findings.length).toBeGreaterThan(0);
    const drafts = llm.callsFor('report_draft');
    expect(drafts).toHaveLength(2);
    expect(JSON.stringify(drafts[1]?.messages)).toMatch(/not valid|invalid/i);
    expect(research.result.usage.total.calls).toBe(llm.calls.length);
  });

  it('searches the question itself when the plan cannot be parsed, and says why in its events', async () => {
    llm.inject({ invalidJson: true }, { schema: 'research_plan', times: Infinity });
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6, language: 'en' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    // One call and its repair, then no more: the research goes on without a plan.
    expect(llm.callsFor('research_plan')).toHaveLength(2);
    expect(research.result).toMatchObject({ evidence: 'sufficient', partial: false });
    expect(research.result.findings.length).toBeGreaterThan(0);
    const events = await stack.database.query<{ type: string; data: Record<string, unknown> }>(
      `SELECT type, data FROM research_events WHERE research_id = $1 ORDER BY seq`,
      [id],
    );
    expect(events).toContainEqual({
      type: 'stage.failed',
      data: { stage: 'plan', reason: 'invalid_output', fallback: 'question' },
    });
  });

  it('leaves out a source the model fails on, reads the others, and says so in the report', async () => {
    // A 400 is not retried: exactly one source's read fails for good.
    llm.inject({ status: 400 }, { schema: 'source_findings', call: 1 });
    const id = await stack.submit({
      question: 'lithium battery supply 2024',
      max_sources: 6,
      depth: 1,
      language: 'en',
    });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    const { result } = research;
    expect(result).toMatchObject({ evidence: 'sufficient', partial: true, partial_reason: 'sources_skipped' });
    expect(result.stats).toMatchObject({ sources: 6, sources_read: 5, sources_skipped: 1 });
    expect(result.report).toContain('1 of the sources found could not be read by the model and is left out');
    expect(result.report).not.toMatch(/\{\w+\}/);
    const skipped = await stack.database.query<{ data: Record<string, unknown> }>(
      `SELECT data FROM research_events WHERE research_id = $1 AND type = 'source.skipped'`,
      [id],
    );
    expect(skipped).toEqual([{ data: { source: expect.any(Number), reason: 'rejected' } }]);
  });

  it('lists the evidence when the writer keeps failing, instead of failing the research', async () => {
    llm.inject({ status: 500 }, { schema: 'report_draft', times: Infinity });
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6, language: 'zh-TW' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    const { result } = research;
    // The call and its two retries, all counted in the ledger with how they ended.
    expect(llm.callsFor('report_draft')).toHaveLength(3);
    expect(result.usage.stages.writer).toMatchObject({ calls: 3, outcomes: { server_error: 3 } });
    expect(result.usage.total.calls).toBe(llm.calls.length);
    expect(result).toMatchObject({ evidence: 'sufficient', partial: true, partial_reason: 'writer_failed' });
    expect(result.report).toContain('模型無法撰寫報告，以下僅列出找到的證據');
    expect(result.findings.length).toBeGreaterThan(1);
    for (const finding of result.findings) expect(result.report).toContain(finding.quote);
  });

  /** The careful writer's draft with one invented sentence added to its first section, citing F1. */
  const inventing = (invented: string) =>
    llm.inject(
      {
        transform: (reply) => {
          const draft = reply as { sections: { sentences: { text: string; findings: string[] }[] }[] };
          draft.sections[0]!.sentences.unshift({ text: invented, findings: ['F1'] });
          return draft;
        },
      },
      { schema: 'report_draft' },
    );
  const INVENTED = 'Intel overtook NVIDIA with 80 percent share of lithium battery supply.';

  it('has a sentence its quotes do not support rewritten once and checked again, never shown as written', async () => {
    inventing(INVENTED);
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6, language: 'en' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    const { result } = research;
    expect(result.report).not.toContain('Intel');
    expect(result.partial).toBe(false);
    // The verifier judged it unsupported; the writer was told why and rewrote it; the second check passed.
    const revising = llm.callsFor('sentence_revision');
    expect(revising).toHaveLength(1);
    expect(JSON.stringify(revising[0]?.messages)).toContain('label=\\"unsupported\\"');
    expect(llm.callsFor('sentence_verification')).toHaveLength(3);
    const rewritten = result.claims.filter((c: { rewritten: boolean }) => c.rewritten);
    expect(rewritten).toHaveLength(1);
    expect(rewritten[0]).toMatchObject({ label: 'supported', kept: true, findings: ['F1'] });
    expect(result.report).toContain(rewritten[0].text.replace(/\.$/, ''));
    expect(result.stats).toMatchObject({ sentences_rewritten: 1, sentences_removed: 0 });
    expect(result.usage.stages.writer.calls).toBe(2);
  });

  it('removes a sentence still unsupported after its rewrite, and keeps it in the claims for review', async () => {
    inventing(INVENTED);
    // A careless writer that "rewrites" by saying the same thing again.
    llm.inject(
      {
        transform: (_reply, request) => ({
          sentences: [...JSON.stringify(request.messages).matchAll(/<sentence id=\\"(\d+)\\"/g)].map((m) => ({
            sentence: Number(m[1]),
            text: INVENTED,
            findings: ['F1'],
          })),
        }),
      },
      { schema: 'sentence_revision' },
    );
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6, language: 'en' });
    const { result } = await stack.waitForStatus(id, ['completed'], 30000);
    expect(result.report).not.toContain('Intel');
    const removed = result.claims.filter((c: { kept: boolean }) => !c.kept);
    expect(removed).toEqual([
      { text: INVENTED, label: 'unsupported', findings: ['F1'], sources: [1], kept: false, rewritten: true },
    ]);
    expect(result.stats.sentences_removed).toBe(1);
    // The rest of the report stands, checked.
    expect(result.claims.filter((c: { kept: boolean }) => c.kept).length).toBeGreaterThan(3);
  });

  it('keeps a sentence still partly supported after its rewrite only with a visible mark, explained in zh-TW', async () => {
    // A verifier that finds the first sentence only partly supported, however it is written.
    llm.inject(
      {
        transform: (reply) => {
          const { verdicts } = reply as { verdicts: { sentence: number; label: string; reason: string }[] };
          for (const v of verdicts)
            if (v.sentence === 1) Object.assign(v, { label: 'partially_supported', reason: '年份不符' });
          return { verdicts };
        },
      },
      { schema: 'sentence_verification', times: Infinity },
    );
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6, language: 'zh-TW' });
    const { result } = await stack.waitForStatus(id, ['completed'], 30000);
    const first = result.claims[0];
    expect(first).toMatchObject({ label: 'partially_supported', kept: true, rewritten: true });
    expect(result.report).toMatch(new RegExp(`${first.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\[\\d+\\] ⚠`));
    expect(result.report).toContain('⚠ 標示此記號的句子無法由其引用的原文證實，請查閱其來源。');
    expect(result.stats).toMatchObject({ sentences_marked: 1, sentences_removed: 0 });
    // Only that one sentence carries the mark.
    expect(result.report.match(/⚠/g)).toHaveLength(2);
  });

  it('says so when verification is off, and marks nothing as checked', async () => {
    const id = await stack.submit({
      question: 'lithium battery supply 2024',
      max_sources: 6,
      language: 'en',
      verify: false,
    });
    const { result } = await stack.waitForStatus(id, ['completed'], 30000);
    expect(llm.callsFor('sentence_verification')).toHaveLength(0);
    expect(result.report).toContain('were not checked against the quotes they cite: verification was off');
    expect(result.claims.every((c: { label: string }) => c.label === 'unverified' || c.label === 'synthesis')).toBe(
      true,
    );
  });

  it('lists the evidence when the verifier keeps failing, rather than show an unchecked report', async () => {
    llm.inject({ status: 400 }, { schema: 'sentence_verification', times: Infinity });
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6, language: 'en' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    const { result } = research;
    expect(result).toMatchObject({ evidence: 'sufficient', partial: true, partial_reason: 'verifier_failed' });
    expect(result.report).toContain('The written report could not be checked against its sources');
    expect(result.claims).toEqual([]);
  });

  it('fails the research with a readable reason only when nothing was read and the model cannot be reached', async () => {
    llm.inject({ status: 401, message: 'invalid api key' }, { schema: 'source_findings', times: Infinity });
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6, language: 'en' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('failed');
    expect(research.error.code).toBe('llm_failed');
    expect(research.error.message).toMatch(/invalid api key|401/);
  });

  it('retries a failed research from its checkpoints, without paying again or charging the time it spent failed', async () => {
    // Every read refused: nothing to report from, and the model cannot be used. The plan is kept.
    llm.inject({ status: 400 }, { schema: 'source_findings', times: Infinity });
    const id = await stack.submit({
      question: 'lithium battery supply 2024',
      max_sources: 6,
      depth: 1,
      language: 'en',
      budget: { max_seconds: 5 },
    });
    const failed = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'llm_failed' } });
    expect(llm.callsFor('research_plan')).toHaveLength(1);

    // Longer than its whole time budget: the time spent failed must not be charged.
    await sleep(5500);
    llm.reset();
    expect((await stack.http.post(`/api/v1/research/${id}/retry`)).status).toBe(202);
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    expect(research.result).toMatchObject({ partial: false, evidence: 'sufficient' });
    expect(research.result.stats.sources_read).toBe(6);
    // The plan came from its checkpoint: only the reads, the writer and the verifier ran.
    expect(llm.callsFor('research_plan')).toHaveLength(0);
    expect(llm.callsFor('source_findings')).toHaveLength(6);
    expect(llm.callsFor('report_draft').length).toBeGreaterThan(0);
    // The failed run's refused reads are still in the ledger, beside the second run's.
    expect(research.result.usage.stages.reader).toMatchObject({ calls: 12, outcomes: { rejected: 6, success: 6 } });
  });

  it('resumes after both rounds without repeating finished LLM calls when its worker is killed', async () => {
    llm.inject({ hang: true }, { schema: 'report_draft' });
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6, depth: 2 });
    await waitFor('the draft call', () => llm.callsFor('report_draft').length === 1, 20000);
    const [worker] = stack.workers.splice(0, 1);
    worker!.kill('SIGKILL');
    await worker!.waitForExit();

    // Every step of both rounds is stored: the plan, the first search and its reads, the gap
    // analysis, the follow-up search and its reads.
    const sources = await sourcesOf(id);
    expect(sources.length).toBeGreaterThan(6);
    const steps = await stack.database.query<{ step: string }>(
      `SELECT step FROM research_steps WHERE research_id = $1`,
      [id],
    );
    expect(steps.map((s) => s.step).sort()).toEqual(
      ['plan', 'search', 'gaps:1', 'search:2', ...sources.map((s) => `read:${s.n}`)].sort(),
    );

    await stack.startWorker();
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.status).toBe('completed');
    expect(research.attempts).toBe(2);
    expect(llm.callsFor('research_plan')).toHaveLength(1);
    expect(llm.callsFor('gap_analysis')).toHaveLength(1);
    expect(llm.callsFor('source_findings')).toHaveLength(sources.length);
    expect(llm.callsFor('report_draft')).toHaveLength(2);
    expect(research.result.rounds.map((r: { round: number }) => r.round)).toEqual([1, 2]);
    expect(research.result.rounds[0].sources + research.result.rounds[1].sources).toBe(sources.length);
    // The ledger counts the calls of both runs that produced the result.
    expect(research.result.usage.stages.reader.calls).toBe(sources.length);
    expect(research.result.usage.stages.planner.calls).toBe(2);
    await sleep(10);
  });

  it('stops a cancelled research inside a long LLM call, aborting the call', async () => {
    llm.inject({ hang: true }, { schema: 'source_findings', times: Infinity });
    const id = await stack.submit({ question: 'lithium battery supply 2024', max_sources: 6 });
    await waitFor('the reads to start', () => llm.inFlight >= 6, 20000);
    const cancelledAt = Date.now();
    expect((await stack.http.post(`/api/v1/research/${id}/cancel`)).status).toBe(200);

    const worker = stack.workers.at(-1)!;
    await worker.waitForLog('the stop', (l) => l.research_id === id && l.message === 'research stopped');
    await waitFor('the calls to be aborted', () => llm.inFlight === 0, 10000);
    expect(Date.now() - cancelledAt).toBeLessThan(5000);
    expect(llm.callsFor('source_findings').every((call) => call.aborted)).toBe(true);
    const research = await stack.research(id);
    expect(research).toMatchObject({ status: 'cancelled', result: null });
    expect(llm.callsFor('report_draft')).toHaveLength(0);
  });

  it('says plainly that there is no evidence instead of writing from memory', async () => {
    const id = await stack.submit({ question: 'quantum chromodynamics lattice gauge theory', language: 'en' });
    const research = await stack.waitForStatus(id, ['completed', 'failed'], 30000);
    expect(research.result).toMatchObject({ evidence: 'none', findings: [], claims: [] });
    expect(research.result.report).toContain('No source found matches this question');
    expect(llm.callsFor('report_draft')).toHaveLength(0);
    expect(research.result).toMatchObject({
      rounds: [{ round: 1, sources: 0, sources_read: 0, findings: 0 }],
      stop_reason: 'no_new_sources',
    });
  });

  it('takes the configured depth by default and refuses a depth above the maximum, naming the field', async () => {
    const id = await stack.submit({ question: 'quantum chromodynamics lattice gauge theory', language: 'en' });
    expect((await stack.http.get(`/api/v1/research/${id}`)).body.depth).toBe(2);
    const response = await stack.http.post('/api/v1/research', { question: 'q', depth: 4 });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([
      { field: 'depth', message: 'depth must not be greater than 3 (RESEARCH_DEPTH_MAX)' },
    ]);
    expect((await stack.http.post('/api/v1/research', { question: 'q', depth: 0 })).status).toBe(400);
    await stack.waitForStatus(id, ['completed', 'failed'], 30000);
  });

  it('stops after one round when the gap analysis finds every sub-question answered', async () => {
    llm.inject(
      {
        transform: (_reply, request) => ({
          sub_questions: [1, 2, 3]
            .filter(
              (n) =>
                n <=
                (request.schema as { properties: { sub_questions: { maxItems: number } } }).properties.sub_questions
                  .maxItems,
            )
            .map((n) => ({ sub_question: n, status: 'answered' })),
          queries: ['something else entirely'],
        }),
      },
      { schema: 'gap_analysis' },
    );
    const id = await stack.submit({
      question: 'lithium battery supply 2024',
      max_sources: 6,
      depth: 3,
      language: 'en',
    });
    const { result } = await stack.waitForStatus(id, ['completed'], 30000);
    expect(result.stop_reason).toBe('answered');
    expect(result.rounds).toHaveLength(1);
    expect(llm.callsFor('gap_analysis')).toHaveLength(1);
    const events = await stack.database.query<{ type: string; data: Record<string, unknown> }>(
      `SELECT type, data FROM research_events WHERE research_id = $1 ORDER BY seq`,
      [id],
    );
    expect(events).toContainEqual({ type: 'rounds.stopped', data: { rounds: 1, depth: 3, reason: 'answered' } });
  });

  it('searches again for what the first round left open, reads only new sources, and says why it stopped', async () => {
    // Found only by the follow-up query: no word of it but "battery" is in the question.
    await stack.addDocument({
      title: 'Sodium-ion battery note',
      text: 'Sodium-ion battery cells entered mass production at CATL in late 2023. Their cost is below that of older cells.',
    });
    llm.inject(
      {
        transform: () => ({
          sub_questions: [{ sub_question: 2, status: 'unanswered' }],
          queries: ['sodium-ion cells'],
        }),
      },
      { schema: 'gap_analysis' },
    );
    const id = await stack.submit({
      question: 'lithium battery supply 2024',
      max_sources: 6,
      depth: 2,
      language: 'en',
    });
    const { result } = await stack.waitForStatus(id, ['completed'], 30000);
    expect(result.stop_reason).toBe('depth');
    expect(result.rounds).toHaveLength(2);
    const [first, second] = result.rounds;
    expect(first).toMatchObject({ round: 1, sources: 6, sources_read: 6 });
    expect(first.queries[0]).toBe('lithium battery supply 2024');
    expect(second).toMatchObject({ round: 2, queries: ['sodium-ion cells'], sources: 1, sources_read: 1 });
    expect(second.findings).toBeGreaterThan(0);
    // The new source is numbered after the first round's, and its findings go to the writer.
    const sodium = result.sources.find((s: { title: string }) => s.title === 'Sodium-ion battery note');
    expect(sodium.n).toBe(7);
    expect(
      result.findings.some(
        (f: { source: number; quote: string }) => f.source === 7 && f.quote.startsWith('Sodium-ion'),
      ),
    ).toBe(true);
    expect(String(llm.callsFor('report_draft')[0]?.messages[1]?.content)).toContain('<finding id="F13" source="7"');
    expect(result.plan.sub_questions).toHaveLength(3);
    // The gap analysis saw findings only, never the text of a source.
    const prompt = String(llm.callsFor('gap_analysis')[0]?.messages[1]?.content);
    expect(prompt).toContain('<finding id="F1" source="1" sub_question="1"');
    expect(prompt).not.toContain('Unrelated sentence number');
    expect(prompt).toContain('<queries_run>\n- lithium battery supply 2024');
    // Each page was read once: six in round 1, one in round 2.
    expect(llm.callsFor('source_findings')).toHaveLength(7);
    // The events carry the plan and each round's queries as they happen.
    const events = await stack.database.query<{ type: string; data: Record<string, unknown> }>(
      `SELECT type, data FROM research_events WHERE research_id = $1 ORDER BY seq`,
      [id],
    );
    const planned = events.find((e) => e.type === 'stage.finished' && e.data.stage === 'plan');
    expect(planned?.data.plan).toEqual(
      result.plan.sub_questions.map((s: { question: string; queries: string[] }) => ({
        question: s.question,
        queries: s.queries,
      })),
    );
    const searches = events.filter((e) => e.type === 'stage.started' && e.data.stage === 'search');
    expect(searches.map((e) => [e.data.round, e.data.queries])).toEqual([
      [1, first.queries],
      [2, ['sodium-ion cells']],
    ]);
  });
});

describe('deep research with the LLM response cache', () => {
  let llm: FakeLlmServer;
  let stack: TestStack;

  beforeAll(async () => {
    llm = await FakeLlmServer.start({ models: ['qwen-72b', 'judge-14b'] });
    installResearchResponders(llm);
    stack = await TestStack.create({ label: 'deepcache', env: { LLM_BASE_URL: llm.baseUrl } });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    await stack.startApi();
    await stack.startWorker();
  });

  afterAll(async () => {
    await stack?.teardown();
    await llm?.stop();
  });

  it('answers a repeated research from the cache: no model call, nothing in the ledger, same report', async () => {
    const first = await stack.waitForStatus(await stack.submit({ question: 'HBM supply 2024', language: 'en' }), [
      'completed',
    ]);
    const calls = llm.calls.length;
    expect(first.result.usage.total.calls).toBe(calls);

    const again = await stack.waitForStatus(await stack.submit({ question: 'HBM supply 2024', language: 'en' }), [
      'completed',
    ]);
    expect(llm.calls).toHaveLength(calls);
    expect(again.result.usage.total).toMatchObject({ calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 });
    expect(again.result.report).toBe(first.result.report);

    const worker = stack.workers[0]!;
    const port = worker.lines.find((l) => l.message === 'worker started')?.port as number;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`research_cache_hits_total\\{cache="llm",service="worker"\\} ${calls}\\b`));
    expect(metrics).toMatch(new RegExp(`research_cache_size\\{cache="llm",service="worker"\\} ${calls}\\b`));
  });
});

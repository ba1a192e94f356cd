import { TestStack } from '@app/testing';

/** The research API against the real api and worker, PostgreSQL and Redis. */
describe('research API', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'api' });
    const ingested = await stack.cli(['ingest', 'examples/corpus']);
    expect(ingested.stdout).toContain('added: 6');
    await stack.startApi();
    await stack.startWorker();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  const countResearches = async () =>
    Number((await stack.database.query(`SELECT count(*) AS n FROM researches`))[0]?.n);

  describe('submit and poll', () => {
    it('accepts the seed request with 202, the four fields and a Location, then completes it', async () => {
      const response = await stack.http.post('/api/v1/research', {
        question: '2024年全球AI晶片市場分析',
        max_sources: 10,
        verify: true,
        language: 'zh-TW',
      });

      expect(response.status).toBe(202);
      expect(Object.keys(response.body).sort()).toEqual(['created_at', 'question', 'research_id', 'status']);
      expect(response.body).toMatchObject({ question: '2024年全球AI晶片市場分析', status: 'pending' });
      expect(new Date(response.body.created_at).toISOString()).toBe(response.body.created_at);
      expect(response.headers.get('location')).toBe(`/api/v1/research/${response.body.research_id}`);

      const done = await stack.waitForStatus(response.body.research_id);
      expect(done).toMatchObject({
        status: 'completed',
        language: 'zh-TW',
        max_sources: 10,
        verify: true,
        attempts: 1,
      });
      expect(done.started_at).not.toBeNull();
      expect(done.finished_at).not.toBeNull();
      expect(done.result.engine).toBe('extractive');
      expect(done.result.report).toContain('## 研究發現');
      expect(done.result.report).toContain('## 資料來源');
      expect(done.result.sources.length).toBeGreaterThan(0);
    });

    it('quotes only text that is in the cited documents, at the recorded offsets, with a citation on every line', async () => {
      const id = await stack.submit({ question: '2024年全球AI晶片市場分析', language: 'zh-TW' });
      const { result } = await stack.waitForStatus(id, ['completed']);

      expect(result.findings.length).toBeGreaterThan(0);
      for (const finding of result.findings) {
        const source = result.sources[finding.source - 1];
        const document = await stack.http.get(`/api/v1/documents/${source.document_id}`);
        expect(document.body.text.slice(finding.start, finding.end)).toBe(finding.quote);
        expect(result.report).toContain(`「${finding.quote}」 [${finding.source}]`);
      }
      // zh-TW documents answer a zh-TW question.
      expect(result.sources.map((s: { title: string }) => s.title)).toContain('2024 年全球 AI 晶片市場概況');
      // The findings section is a heading in Traditional Chinese naming each source, then its quotes,
      // each with a citation to that source; a quote in English is said to be so.
      const findingsSection = result.report.split('## 資料來源')[0].split('## 研究發現')[1];
      const lines = findingsSection.split('\n').filter((line: string) => line.trim().length > 0);
      let heading = 0;
      const quoted: number[] = [];
      for (const line of lines) {
        const source = /^### 來源 (\d+)：(.+)$/.exec(line);
        if (source) {
          heading = Number(source[1]);
          expect(source[2]).toBe(result.sources[heading - 1].title.replace(/([\\[\]])/g, '\\$1'));
          continue;
        }
        const cited = /^- 「(.+)」 \[(\d+)\](（原文為英文）)?$/.exec(line);
        expect(cited).not.toBeNull();
        expect(Number(cited?.[2])).toBe(heading);
        expect(Boolean(cited?.[3])).toBe(!/\p{Script=Han}/u.test(cited?.[1] ?? ''));
        quoted.push(heading);
      }
      expect(quoted).toHaveLength(result.findings.length);
      expect(quoted).toEqual([...quoted].sort((a, b) => a - b));
      // verify: true labels each quoted claim after checking it against the source.
      expect(result.claims).toHaveLength(result.findings.length);
      expect(result.claims.every((claim: { label: string }) => claim.label === 'supported')).toBe(true);
    });

    it('answers an English question from English documents, and leaves claims out when verify is false', async () => {
      const id = await stack.submit({
        question: 'What limited the supply of AI accelerators in 2024?',
        max_sources: 3,
        verify: false,
      });
      const research = await stack.waitForStatus(id, ['completed']);
      expect(research.language).toBe('en');
      expect(research.result.report).toContain('## Findings');
      expect(research.result.report).toMatch(/^### Source 1: .+$/m);
      expect(research.result.report).toMatch(/“[^”]*CoWoS[^”]*” \[\d\]/);
      expect(research.result.sources.length).toBeLessThanOrEqual(3);
      expect(research.result.claims).toEqual([]);
    });

    it.each([
      ['zh-TW', 'HBM 與 CoWoS 在 2024 年的供應', '「', '」', '來源', '：', '（原文為英文）', ''],
      ['en', 'HBM (高頻寬記憶體) supply in 2024', '“', '”', 'Source', ': ', '', ' (quoted in Chinese)'],
    ])(
      'a %s report heads its quotes by source in its language and notes those in another language',
      async (language, question, open, close, source, colon, englishNote, chineseNote) => {
        const id = await stack.submit({ question, language });
        const { result } = await stack.waitForStatus(id, ['completed']);
        type Finding = { quote: string; source: number };
        const chinese = (finding: Finding) => /\p{Script=Han}/u.test(finding.quote);
        // Sources in both languages are quoted, so both kinds of line are checked.
        expect(result.findings.some(chinese)).toBe(true);
        expect(result.findings.some((finding: Finding) => !chinese(finding))).toBe(true);
        for (const { n, title } of result.sources as { n: number; title: string }[]) {
          expect(result.report).toContain(`\n### ${source} ${n}${colon}${title}\n`);
        }
        for (const finding of result.findings as Finding[]) {
          const note = chinese(finding) ? chineseNote : englishNote;
          expect(result.report).toContain(`\n- ${open}${finding.quote}${close} [${finding.source}]${note}\n`);
        }
      },
    );

    it('completes with a report that says so when no document matches', async () => {
      const id = await stack.submit({ question: 'quantum chromodynamics lattice simulations' });
      const research = await stack.waitForStatus(id, ['completed']);
      expect(research.result).toMatchObject({ evidence: 'none', sources: [], findings: [] });
      expect(research.result.report).toContain('No source found matches this question');
    });

    it('records the lifecycle as ordered events', async () => {
      const id = await stack.submit({ question: 'HBM supply 2024' });
      await stack.waitForStatus(id, ['completed']);
      const events = await stack.database.query<{ seq: number; type: string; data: Record<string, unknown> }>(
        `SELECT seq, type, data FROM research_events WHERE research_id = $1 ORDER BY seq`,
        [id],
      );
      expect(events.map((e) => e.seq)).toEqual(events.map((_, index) => index + 1));
      expect(events.map((e) => e.type)).toEqual([
        'research.created',
        'research.started',
        'stage.started',
        'stage.finished',
        'stage.started',
        'stage.finished',
        'stage.started',
        'stage.finished',
        'research.completed',
      ]);
      expect(events.filter((e) => e.type === 'stage.started').map((e) => e.data.stage)).toEqual([
        'search',
        'read',
        'write',
      ]);
    });

    it('answers 404 in the common error shape for an unknown research', async () => {
      const response = await stack.http.get('/api/v1/research/7b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b');
      expect(response.status).toBe(404);
      expect(response.body).toEqual({
        error: {
          code: 'not_found',
          message: 'research 7b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b was not found',
          details: expect.any(Object),
        },
        request_id: response.headers.get('x-request-id'),
      });
    });
  });

  describe('list', () => {
    it('lists newest first with cursor pagination and a status filter', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) ids.push(await stack.submit({ question: `pagination question ${i}` }));
      await Promise.all(ids.map((id) => stack.waitForStatus(id)));

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
        const page = await stack.http.get(`/api/v1/research${query}`);
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((item: { research_id: string }) => item.research_id));
        cursor = page.body.next_cursor;
        pages += 1;
      } while (cursor && pages < 50);

      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBe(await countResearches());
      // The five just created come first, newest first.
      expect(seen.slice(0, 5)).toEqual([...ids].reverse());

      const completed = await stack.http.get('/api/v1/research?status=completed&limit=100');
      expect(completed.body.items.length).toBeGreaterThanOrEqual(5);
      expect(completed.body.items.every((item: { status: string }) => item.status === 'completed')).toBe(true);
      const failed = await stack.http.get('/api/v1/research?status=failed');
      expect(failed.body).toEqual({ items: [], next_cursor: null });
    });
  });

  describe('idempotency', () => {
    it('returns the same research for a repeated key and body, and 422 for the same key with another body', async () => {
      const body = { question: 'Idempotent question about HBM', max_sources: 5 };
      const headers = { 'Idempotency-Key': 'key-0001' };
      const first = await stack.http.post('/api/v1/research', body, headers);
      const again = await stack.http.post('/api/v1/research', { ...body, verify: true, language: 'en' }, headers);
      expect(first.status).toBe(202);
      expect(again.status).toBe(202);
      expect(again.body.research_id).toBe(first.body.research_id);
      expect(again.headers.get('idempotent-replayed')).toBe('true');

      const before = await countResearches();
      const other = await stack.http.post('/api/v1/research', { ...body, max_sources: 6 }, headers);
      expect(other.status).toBe(422);
      expect(other.body.error.code).toBe('idempotency_key_reused');
      expect(other.body.error.details).toEqual({ research_id: first.body.research_id });
      expect(await countResearches()).toBe(before);
    });

    it('creates one research when the same key arrives concurrently', async () => {
      const headers = { 'Idempotency-Key': 'concurrent-key' };
      const responses = await Promise.all(
        Array.from({ length: 8 }, () =>
          stack.http.post('/api/v1/research', { question: 'concurrent idempotent question' }, headers),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(8).fill(202));
      expect(new Set(responses.map((r) => r.body.research_id)).size).toBe(1);
      const rows = await stack.database.query(`SELECT id FROM researches WHERE idempotency_key = 'concurrent-key'`);
      expect(rows).toHaveLength(1);
    });
  });

  describe('cancel', () => {
    it('answers 409 with the current status for a completed research', async () => {
      const id = await stack.submit({ question: 'AI chip export controls' });
      await stack.waitForStatus(id, ['completed']);
      const response = await stack.http.post(`/api/v1/research/${id}/cancel`);
      expect(response.status).toBe(409);
      expect(response.body.error).toMatchObject({ code: 'research_not_cancellable', details: { status: 'completed' } });
      expect((await stack.research(id)).status).toBe('completed');
    });

    it('answers 404 for an unknown research and 400 for a malformed id', async () => {
      expect((await stack.http.post('/api/v1/research/7b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b/cancel')).status).toBe(404);
      expect((await stack.http.post('/api/v1/research/not-an-id/cancel')).status).toBe(400);
    });
  });

  describe('request ids', () => {
    it('echoes a valid X-Request-Id and puts it in error bodies', async () => {
      const response = await stack.http.post('/api/v1/research', { question: '' }, { 'X-Request-Id': 'client-req-42' });
      expect(response.headers.get('x-request-id')).toBe('client-req-42');
      expect(response.body.request_id).toBe('client-req-42');
    });

    it('replaces an unusable X-Request-Id with a generated one', async () => {
      const response = await stack.http.get('/api/v1/research?limit=1', { 'X-Request-Id': 'x'.repeat(500) });
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('logs each request as one JSON line in the format of the deployment chapter', async () => {
      await stack.http.post('/api/v1/research', { question: 'logged request' }, { 'X-Request-Id': 'log-format-1' });
      const api = stack.api!;
      const line = await api.waitForLog(
        'the request line',
        (l) => l.request_id === 'log-format-1' && l.message === 'request completed',
      );
      expect(line).toEqual({
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        level: 'INFO',
        logger: 'api',
        service: 'api',
        message: 'request completed',
        request_id: 'log-format-1',
        method: 'POST',
        path: '/api/v1/research',
        status_code: 202,
        duration: expect.any(Number),
      });
      expect(line.duration).toBeGreaterThan(0);
      expect(line.duration).toBeLessThan(5);
      // Every line the api wrote is one JSON object; probes are not logged at info.
      expect(api.rawStdout.filter((raw) => !raw.startsWith('{'))).toEqual([]);
      expect(api.lines.filter((l) => l.path === '/health' || l.path === '/ready')).toEqual([]);
    });

    it('stores the request id with the research and logs it in the worker', async () => {
      const id = await stack.submit({ question: 'TSMC CoWoS packaging' }, { 'X-Request-Id': 'trace-me-7' });
      await stack.waitForStatus(id, ['completed']);
      const [row] = await stack.database.query<{ request_id: string }>(
        `SELECT request_id FROM researches WHERE id = $1`,
        [id],
      );
      expect(row?.request_id).toBe('trace-me-7');
      const worker = stack.workers[0];
      const line = await worker!.waitForLog(
        'research completed',
        (l) => l.message === 'research completed' && l.research_id === id,
      );
      expect(line.request_id).toBe('trace-me-7');
    });
  });
});

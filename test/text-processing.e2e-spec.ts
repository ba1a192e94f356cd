import { TestStack, sampleDocument, sleep } from '@app/testing';

/**
 * Documents of the maximum size (DOCUMENT_MAX_BYTES, 1 MiB by default) are segmented in worker
 * threads: the api keeps answering while it ingests one, the worker reads it for a research, and
 * a text that takes longer than TEXT_TASK_TIMEOUT_MS gets a clear error instead of a hung request.
 */
const MAX_BYTES = 1024 * 1024;
/** Generous: the api used to stop answering for minutes; this is liveness, not a benchmark. */
const HEALTH_BOUND_MS = 3000;

const documents = {
  English: {
    text: sampleDocument('en', MAX_BYTES, 'The zeppelin foundry ships graphene wafers.'),
    question: 'zeppelin foundry graphene',
    last: 'The zeppelin foundry ships graphene wafers.',
  },
  Chinese: {
    text: sampleDocument('zh', MAX_BYTES, '量子電腦採用超導量子位元。'),
    question: '超導量子位元的量子電腦',
    last: '量子電腦採用超導量子位元。',
  },
};

describe('text processing of maximum-size documents', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'text' });
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  describe('with the default time limit', () => {
    beforeAll(async () => {
      await stack.startApi();
      await stack.startWorker();
    });

    afterAll(async () => {
      await Promise.all(stack.workers.splice(0).map((worker) => worker.stop()));
      await stack.api?.stop();
    });

    it.each(Object.entries(documents))(
      '%s: stores it, answers /health meanwhile, and a research finds its last sentence',
      async (_, document) => {
        expect(Buffer.byteLength(document.text)).toBe(MAX_BYTES);
        let settled = false;
        const posted = stack.http
          .post('/api/v1/documents', { title: 'maximum size', text: document.text })
          .finally(() => (settled = true));
        const probes: { status: number; ms: number }[] = [];
        while (!settled) {
          const started = Date.now();
          const health = await stack.http.get('/health');
          if (!settled) probes.push({ status: health.status, ms: Date.now() - started });
          await sleep(20);
        }

        const response = await posted;
        expect(response.status).toBe(201);
        expect(probes.length).toBeGreaterThan(0);
        expect(probes.every((probe) => probe.status === 200)).toBe(true);
        expect(Math.max(...probes.map((probe) => probe.ms))).toBeLessThan(HEALTH_BOUND_MS);

        const id = response.body.document_id as string;
        const stored = await stack.http.get(`/api/v1/documents/${id}`);
        expect(stored.body.text).toBe(document.text);

        const research = await stack.waitForStatus(
          await stack.submit({ question: document.question }),
          undefined,
          60000,
        );
        expect(research.status).toBe('completed');
        expect(research.result.sources.map((source: { document_id: string }) => source.document_id)).toEqual([id]);
        expect(research.result.findings[0]).toMatchObject({
          quote: document.last,
          start: document.text.length - document.last.length,
          end: document.text.length,
        });
      },
    );
    it('indexes by passage a document with more distinct words than one full-text entry holds, and finds a word deep in it', async () => {
      // 1 MiB of words that never repeat: as one tsvector PostgreSQL would need more than its
      // 1 MB limit; cut into passages, each is small.
      const words: string[] = [];
      for (let i = 0, size = 0; size < MAX_BYTES - 32; i += 1) {
        // Sentences of ten words (a capital after the full stop), so that the one holding a word can be quoted.
        const word = `${i % 10 === 0 ? 'W' : 'w'}${i.toString(36)}q${((i * 7919) % 104729).toString(36)}${i % 10 === 9 ? '.' : ''}`;
        words.push(word);
        size += word.length + 1;
      }
      const response = await stack.http.post('/api/v1/documents', { title: 'unique words', text: words.join(' ') });
      expect(response.status).toBe(201);
      const [{ passages }] = await stack.database.query<{ passages: string }>(
        'SELECT count(*) AS passages FROM document_passages WHERE document_id = $1',
        [response.body.document_id],
      );
      expect(Number(passages)).toBeGreaterThan(500);

      const deepWord = words[Math.floor(words.length * 0.9) + 5]!.replace('.', '');
      const research = await stack.waitForStatus(await stack.submit({ question: deepWord, sources: ['corpus'] }));
      expect(research.result.sources.map((source: { document_id: string }) => source.document_id)).toContain(
        response.body.document_id,
      );
      expect(research.result.findings[0].quote).toContain(deepWord);
    });
  });

  describe('with a time limit shorter than a maximum-size document needs', () => {
    const env = { TEXT_TASK_TIMEOUT_MS: '50', RESEARCH_ATTEMPTS: '1' };

    beforeAll(async () => {
      await stack.startApi(env);
      await stack.startWorker(env);
    });

    afterAll(async () => {
      await Promise.all(stack.workers.splice(0).map((worker) => worker.stop()));
      await stack.api?.stop();
    });

    it('answers 503 text_processing_timeout, stores nothing, and still serves smaller documents', async () => {
      const before = (await stack.http.get('/api/v1/documents?limit=100')).body.items.length;
      const response = await stack.http.post('/api/v1/documents', {
        title: 'too slow',
        text: sampleDocument('zh', MAX_BYTES, '光子晶片仍在實驗室。'),
      });
      expect(response.status).toBe(503);
      expect(response.body).toEqual({
        error: {
          code: 'text_processing_timeout',
          message: 'processing the text took longer than 50 ms; try again later',
          details: { task: 'indexDocument', characters: expect.any(Number), timeout_ms: 50 },
        },
        request_id: expect.any(String),
      });
      expect((await stack.http.get('/api/v1/documents?limit=100')).body.items).toHaveLength(before);

      const small = await stack.http.post('/api/v1/documents', { title: 'small', text: 'HBM is stacked memory.' });
      expect(small.status).toBe(201);
      expect((await stack.http.get('/health')).status).toBe(200);
    });

    it('fails a research whose reading of a stored document runs out of time, with that code', async () => {
      const research = await stack.waitForStatus(await stack.submit({ question: documents.English.question }));
      expect(research.status).toBe('failed');
      expect(research.error.code).toBe('text_processing_timeout');
    });
  });
});

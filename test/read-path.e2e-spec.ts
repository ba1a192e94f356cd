import { TcpProxy, TestStack, waitFor } from '@app/testing';

/**
 * `GET /api/v1/research/{id}` reads its row on the database pool directly, without TypeORM's
 * query runner: its answers, and its errors when PostgreSQL is away, must stay those of the api.
 */
describe('GET /api/v1/research/{id}', () => {
  let stack: TestStack;
  let postgres: TcpProxy;

  beforeAll(async () => {
    postgres = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
    stack = await TestStack.create({ label: 'readpath' });
    stack.env.DATABASE_URL = stack.database.url.replace(':5432/', `:${postgres.port}/`);
    await stack.startApi();
  });

  afterAll(async () => {
    await postgres?.restore();
    await stack?.teardown();
    await postgres?.cut();
  });

  it('answers every field of the stored research, and 404 for an id it does not have', async () => {
    const id = await stack.submit(
      { question: '2024年全球AI晶片市場分析', max_sources: 7, verify: false, language: 'zh-TW' },
      { 'X-Request-Id': 'read-path-1' },
    );
    const [row] = await stack.database.query<{ created_at: Date; updated_at: Date }>(
      'SELECT created_at, updated_at FROM researches WHERE id = $1',
      [id],
    );
    const response = await stack.http.get(`/api/v1/research/${id.toUpperCase()}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      research_id: id,
      question: '2024年全球AI晶片市場分析',
      status: 'pending',
      created_at: row!.created_at.toISOString(),
      started_at: null,
      finished_at: null,
      max_sources: 7,
      depth: 2,
      progress: { stage: 'queued', round: 0, sources_found: 0, sources_read: 0, findings: 0, claims: 0, percent: 0 },
      verify: false,
      language: 'zh-TW',
      sources: ['corpus'],
      attempts: 0,
      review_plan: false,
      callback_url: null,
      budget: { max_tokens: 200000, max_cost_usd: 1, max_llm_calls: 80, max_seconds: 600 },
      result: null,
      error: null,
      updated_at: row!.updated_at.toISOString(),
    });

    const missing = await stack.http.get('/api/v1/research/7b1f0a4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });

  it('answers 503 while PostgreSQL is unreachable, and the research again once it is back', async () => {
    const id = await stack.submit({ question: 'read through an outage' });
    await postgres.cut();
    try {
      for (let i = 0; i < 3; i += 1) {
        const response = await stack.http.get(`/api/v1/research/${id}`);
        expect({ status: response.status, code: response.body.error?.code }).toEqual({
          status: 503,
          code: 'dependency_unavailable',
        });
      }
    } finally {
      await postgres.restore();
    }
    await waitFor(
      'the research to be read again',
      async () => (await stack.http.get(`/api/v1/research/${id}`)).status === 200,
    );
    expect((await stack.http.get(`/api/v1/research/${id}`)).body.research_id).toBe(id);
  });
});

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { HttpResponse, TestStack, sleep } from '@app/testing';

/**
 * API keys and tenants through the real api, with keys required (as in production): every
 * endpoint refuses calls without a valid key, a key does only what its scopes allow, and a key
 * of one tenant never sees another tenant's work: 404, not 403, and nothing in its lists.
 */
describe('API keys and tenants', () => {
  let stack: TestStack;
  const keys: Record<'a' | 'aReader' | 'b' | 'admin', string> = { a: '', aReader: '', b: '', admin: '' };
  const ALL_BUT_ADMIN = 'research:read,research:write,documents:read,documents:write,audit:read';

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'auth', env: { AUTH_REQUIRED: 'true' } });
    const create = async (tenant: string, scopes: string) => {
      const result = await stack.cli(['keys', 'create', '--tenant', tenant, '--scopes', scopes]);
      expect(result.code).toBe(0);
      return lastLine(result.stdout);
    };
    keys.a = await create('team-a', ALL_BUT_ADMIN);
    keys.aReader = await create('team-a', 'research:read');
    keys.b = await create('team-b', ALL_BUT_ADMIN);
    keys.admin = await create('ops', 'admin');
    await stack.startApi();
    await stack.startWorker();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

  function expectError(response: HttpResponse, status: number, code: string): void {
    expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
    expect(response.body.request_id).toBe(response.headers.get('x-request-id'));
  }

  /** Every operation of the OpenAPI document, with ids filled in. */
  async function operations(): Promise<{ method: string; path: string; public: boolean }[]> {
    const document = (await stack.http.get('/docs-json')).body;
    return Object.entries(document.paths as Record<string, Record<string, { security: unknown[] }>>).flatMap(
      ([path, item]) =>
        Object.entries(item).map(([method, operation]) => ({
          method: method.toUpperCase(),
          path: path.replace('{id}', UNKNOWN_ID),
          public: operation.security.length === 0,
        })),
    );
  }

  it('refuses every endpoint but the probes without a key, or with a malformed, unknown or wrongly sent one', async () => {
    const all = await operations();
    expect(
      all
        .filter((op) => op.public)
        .map((op) => op.path)
        .sort(),
    ).toEqual(['/health', '/metrics', '/ready']);
    const unknownKey = `drs_AAAAAAAA_${'A'.repeat(43)}`;
    for (const op of all.filter((candidate) => !candidate.public)) {
      for (const headers of [{}, as('not-a-key'), as(unknownKey), { authorization: `Basic ${keys.a}` }]) {
        const response = await stack.http.request(op.method, op.path, {
          headers,
          json: op.method === 'POST' ? {} : undefined,
        });
        expectError(response, 401, 'unauthorized');
        expect(response.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      }
    }
    for (const path of ['/health', '/ready', '/metrics']) expect((await stack.http.get(path)).status).toBe(200);
  });

  it('accepts the key as a bearer token or in X-API-Key', async () => {
    expect((await stack.http.get('/api/v1/research', as(keys.a))).status).toBe(200);
    expect((await stack.http.get('/api/v1/research', { 'x-api-key': keys.a })).status).toBe(200);
  });

  it('lets a key do only what its scopes allow', async () => {
    const refused = [
      await stack.http.post('/api/v1/research', { question: 'q' }, as(keys.aReader)),
      await stack.http.post(`/api/v1/research/${UNKNOWN_ID}/cancel`, undefined, as(keys.aReader)),
      await stack.http.post('/api/v1/documents', { title: 't', text: 'x' }, as(keys.aReader)),
      await stack.http.get('/api/v1/documents', as(keys.aReader)),
      await stack.http.get('/api/v1/admin/keys', as(keys.a)),
      await stack.http.post('/api/v1/admin/keys', { tenant: 'x', scopes: ['admin'] }, as(keys.a)),
    ];
    for (const response of refused) expectError(response, 403, 'forbidden');
    expect(refused[0]!.body.error.details).toEqual({
      required_scopes: ['research:write'],
      granted_scopes: ['research:read'],
    });
    // Nothing was stored by the refused calls.
    expect(await stack.database.query('SELECT id FROM researches')).toEqual([]);
    expect((await stack.http.get('/api/v1/research', as(keys.aReader))).status).toBe(200);
  });

  it("keeps each tenant's researches and documents to itself: 404 for the other, and absent from its lists", async () => {
    const submitted = await stack.http.post('/api/v1/research', { question: 'NVIDIA market share 2024' }, as(keys.a));
    expect(submitted.status).toBe(202);
    const researchId = submitted.body.research_id as string;
    const added = await stack.http.post(
      '/api/v1/documents',
      { title: 'Team A memo', text: 'Team A keeps its own notes about HBM supply in 2024.' },
      as(keys.a),
    );
    expect(added.status).toBe(201);
    const documentId = added.body.document_id as string;
    await finished(researchId, keys.a);

    const fromB = [
      await stack.http.get(`/api/v1/research/${researchId}`, as(keys.b)),
      await stack.http.post(`/api/v1/research/${researchId}/cancel`, undefined, as(keys.b)),
      await stack.http.post(`/api/v1/research/${researchId}/retry`, undefined, as(keys.b)),
      await stack.http.get(`/api/v1/research/${researchId}/deliveries`, as(keys.b)),
      await stack.http.get(`/api/v1/research/${researchId}/plan`, as(keys.b)),
      await stack.http.post(`/api/v1/research/${researchId}/plan`, undefined, as(keys.b)),
      await stack.http.post(`/api/v1/research/${researchId}/deliveries/redeliver`, undefined, as(keys.b)),
      await stack.http.get(`/api/v1/documents/${documentId}`, as(keys.b)),
      await stack.http.request('DELETE', `/api/v1/documents/${documentId}`, { headers: as(keys.b) }),
    ];
    for (const response of fromB) expectError(response, 404, 'not_found');
    expect((await stack.http.get('/api/v1/research', as(keys.b))).body.items).toEqual([]);
    expect((await stack.http.get('/api/v1/documents', as(keys.b))).body.items).toEqual([]);

    // Tenant A still sees both, with any of its keys that may read them.
    expect((await stack.http.get(`/api/v1/research/${researchId}`, as(keys.aReader))).status).toBe(200);
    expect((await stack.http.get(`/api/v1/documents/${documentId}`, as(keys.a))).status).toBe(200);
    const listed = (await stack.http.get('/api/v1/research', as(keys.a))).body.items;
    expect(listed.map((item: { research_id: string }) => item.research_id)).toEqual([researchId]);

    // Tenant B's research reads only tenant B's corpus: A's memo is not among its sources.
    const own = await stack.http.post('/api/v1/research', { question: 'HBM supply notes 2024' }, as(keys.b));
    const research = await finished(own.body.research_id, keys.b);
    expect(research.result.sources.map((s: { document_id: string }) => s.document_id)).not.toContain(documentId);
  });

  async function finished(id: string, key: string): Promise<any> {
    for (let i = 0; i < 200; i += 1) {
      const response = await stack.http.get(`/api/v1/research/${id}`, as(key));
      if (['completed', 'failed', 'cancelled'].includes(response.body.status)) return response.body;
      await sleep(50);
    }
    throw new Error(`research ${id} did not finish`);
  }

  it('manages keys through the admin endpoints: shown once, stored as a hash, listed, revoked at once', async () => {
    const created = await stack.http.post(
      '/api/v1/admin/keys',
      { tenant: 'team-c', scopes: ['research:read'], name: 'dashboard' },
      as(keys.admin),
    );
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^drs_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice('drs_12345678_'.length), 'base64url')).toHaveLength(32);
    expect(created.body).toMatchObject({
      tenant: 'team-c',
      name: 'dashboard',
      scopes: ['research:read'],
      revoked_at: null,
    });
    expect(key.startsWith(created.body.prefix)).toBe(true);

    // Stored only as its SHA-256 and its prefix.
    const rows = await stack.database.query<Record<string, unknown>>('SELECT * FROM api_keys WHERE id = $1', [
      created.body.key_id,
    ]);
    expect(rows[0]?.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(key.slice('drs_12345678_'.length));

    expect((await stack.http.get('/api/v1/research', as(key))).status).toBe(200);
    const listed = await stack.http.get('/api/v1/admin/keys?tenant=team-c', as(keys.admin));
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).toMatchObject({ key_id: created.body.key_id, prefix: created.body.prefix });
    expect(listed.body.items[0].last_used_at).not.toBeNull();
    expect(listed.text).not.toContain(key);

    const revoked = await stack.http.post(
      `/api/v1/admin/keys/${created.body.key_id}/revoke`,
      undefined,
      as(keys.admin),
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    expectError(await stack.http.get('/api/v1/research', as(key)), 401, 'unauthorized');
    expectError(
      await stack.http.post(`/api/v1/admin/keys/${UNKNOWN_ID}/revoke`, undefined, as(keys.admin)),
      404,
      'not_found',
    );
    const invalid = await stack.http.post('/api/v1/admin/keys', { tenant: 'Team C', scopes: ['root'] }, as(keys.admin));
    expectError(invalid, 400, 'validation_failed');
  });

  it('refuses a key once it has expired', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const created = await stack.http.post(
      '/api/v1/admin/keys',
      { tenant: 'team-c', scopes: ['research:read'], expires_at: expiresAt },
      as(keys.admin),
    );
    expect(created.body.expires_at).toBe(expiresAt);
    expect((await stack.http.get('/api/v1/research', as(created.body.key))).status).toBe(200);
    await sleep(1700);
    const expired = await stack.http.get('/api/v1/research', as(created.body.key));
    expectError(expired, 401, 'unauthorized');
    expect(expired.body.error.message).toContain('expired');
  });

  it('creates a key with `npm run cli -- keys create`, printing it on the last line', () => {
    const result = spawnSync(
      'npm',
      [
        'run',
        '--silent',
        'cli',
        '--',
        'keys',
        'create',
        '--tenant',
        'acme',
        '--scopes',
        'research:write,research:read',
      ],
      { cwd: join(__dirname, '..'), env: { ...process.env, ...stack.env, NODE_ENV: 'test' }, encoding: 'utf8' },
    );
    expect(result.status).toBe(0);
    expect(lastLine(result.stdout)).toMatch(/^drs_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
  });
});

/** Anonymous calls in development act as the default tenant; administration still needs a key. */
describe('API keys not required (development)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'authdev' });
    await stack.startApi();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  it('serves anonymous calls as the default tenant, checks a key that is sent, and keeps admin to admin keys', async () => {
    const submitted = await stack.http.post('/api/v1/research', { question: 'anonymous question' });
    expect(submitted.status).toBe(202);
    const rows = await stack.database.query<{ tenant_id: string }>('SELECT tenant_id FROM researches');
    expect(rows).toEqual([{ tenant_id: '00000000-0000-0000-0000-000000000001' }]);

    const bad = await stack.http.get('/api/v1/research', { authorization: 'Bearer drs_nope' });
    expect(bad.status).toBe(401);
    const admin = await stack.http.get('/api/v1/admin/keys');
    expect({ status: admin.status, code: admin.body.error.code }).toEqual({ status: 403, code: 'forbidden' });
  });
});

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

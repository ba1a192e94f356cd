import { createHash } from 'node:crypto';
import { AppProcess, HttpClient, HttpResponse, TestStack, freePort, sleep, waitFor } from '@app/testing';

/**
 * The audit trail through the real api, with keys required: every action leaves exactly one
 * record of who did what, a change and its record are stored together or not at all, refusals
 * are recorded too, a record edited behind the trigger's back is named by the verification, and
 * each tenant reviews only its own trail.
 */
describe('audit trail', () => {
  let stack: TestStack;
  const USER_AGENT = 'audit-suite/1.0 (e2e)';
  const ALL_BUT_ADMIN = 'research:read,research:write,documents:read,documents:write,audit:read';

  interface Key {
    text: string;
    id: string;
    tenant: string;
    tenantId: string;
  }
  const keys = {} as Record<'a' | 'aReader' | 'b' | 'admin', Key>;

  interface Row {
    id: string;
    tenant_id: string | null;
    seq: string;
    actor: string;
    action: string;
    resource_type: string;
    resource_id: string | null;
    outcome: string;
    status_code: number;
    request_id: string;
    client_ip: string | null;
    user_agent: string | null;
  }

  async function createKey(tenant: string, scopes: string): Promise<Key> {
    const result = await stack.cli(['keys', 'create', '--tenant', tenant, '--scopes', scopes]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const id = /^key id:\s+(\S+)$/m.exec(result.stdout)?.[1] as string;
    const [row] = await stack.database.query<{ id: string }>('SELECT id FROM tenants WHERE name = $1', [tenant]);
    return { text: lines.at(-1) as string, id, tenant, tenantId: row!.id };
  }

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'audit', env: { AUTH_REQUIRED: 'true' } });
    keys.a = await createKey('team-a', ALL_BUT_ADMIN);
    keys.aReader = await createKey('team-a', 'research:read');
    keys.b = await createKey('team-b', ALL_BUT_ADMIN);
    keys.admin = await createKey('ops', 'admin');
    await stack.startApi();
  });

  afterAll(async () => {
    await stack?.teardown();
  });

  const as = (key: Key | null) => ({
    'user-agent': USER_AGENT,
    ...(key ? { authorization: `Bearer ${key.text}` } : {}),
  });
  const call = (method: string, path: string, key: Key | null, json?: unknown) =>
    stack.http.request(method, path, { headers: as(key), json });
  const requestIdOf = (response: HttpResponse) => response.headers.get('x-request-id') as string;

  const recordsOf = (requestId: string) =>
    stack.database.query<Row>('SELECT * FROM audit_records WHERE request_id = $1', [requestId]);

  /** The one record of a request, once the batched writer has written it. */
  async function recordOf(response: HttpResponse): Promise<Row> {
    const requestId = requestIdOf(response);
    const [record] = await waitFor(`the audit record of ${requestId}`, async () => {
      const rows = await recordsOf(requestId);
      return rows.length > 0 ? rows : undefined;
    });
    return record!;
  }

  /** Longer than the writer's delay: a second record, if any were coming, would be there by now. */
  const settle = () => sleep(600);

  it('records every action once, with who did what on which resource, the outcome and where the call came from', async () => {
    const expected: { response: HttpResponse; key: Key; action: string; resource: [string, string | null] }[] = [];
    const run = async (
      key: Key,
      action: string,
      resource: [string, (response: HttpResponse) => string | null],
      method: string,
      path: string,
      json?: unknown,
    ) => {
      const response = await call(method, path, key, json);
      if (response.status >= 300) throw new Error(`${action} answered ${response.status}: ${response.text}`);
      expected.push({ response, key, action, resource: [resource[0], resource[1](response)] });
      return response;
    };
    const none = () => null;

    const created = await run(
      keys.a,
      'research.create',
      ['research', (r) => r.body.research_id],
      'POST',
      '/api/v1/research',
      { question: 'Who supplies HBM in 2024?' },
    );
    const researchId = created.body.research_id as string;
    await run(keys.a, 'research.read', ['research', () => researchId], 'GET', `/api/v1/research/${researchId}`);
    await run(keys.a, 'research.list', ['research', none], 'GET', '/api/v1/research');
    await run(
      keys.a,
      'research.cancel',
      ['research', () => researchId],
      'POST',
      `/api/v1/research/${researchId}/cancel`,
    );
    const failedId = (await stack.http.post('/api/v1/research', { question: 'A research that failed' }, as(keys.a)))
      .body.research_id as string;
    await stack.database.query(`UPDATE researches SET status = 'failed', finished_at = now() WHERE id = $1`, [
      failedId,
    ]);
    await run(keys.a, 'research.retry', ['research', () => failedId], 'POST', `/api/v1/research/${failedId}/retry`);

    const document = await run(
      keys.a,
      'document.create',
      ['document', (r) => r.body.document_id],
      'POST',
      '/api/v1/documents',
      { title: 'HBM supply', text: 'SK hynix supplied most HBM3 in 2024.' },
    );
    const documentId = document.body.document_id as string;
    await run(keys.a, 'document.read', ['document', () => documentId], 'GET', `/api/v1/documents/${documentId}`);
    await run(keys.a, 'document.list', ['document', none], 'GET', '/api/v1/documents');
    await run(keys.a, 'document.delete', ['document', () => documentId], 'DELETE', `/api/v1/documents/${documentId}`);

    const key = await run(keys.admin, 'key.create', ['key', (r) => r.body.key_id], 'POST', '/api/v1/admin/keys', {
      tenant: 'team-c',
      scopes: ['research:read'],
    });
    expect(key.body.tenant_id).not.toBe(keys.admin.tenantId);
    await run(keys.admin, 'key.list', ['key', none], 'GET', '/api/v1/admin/keys');
    const keyId = key.body.key_id as string;
    await run(keys.admin, 'key.revoke', ['key', () => keyId], 'POST', `/api/v1/admin/keys/${keyId}/revoke`);

    await run(keys.a, 'audit.read', ['audit', none], 'GET', '/api/v1/audit');
    await run(keys.a, 'audit.verify', ['audit', none], 'GET', '/api/v1/audit/verify');

    for (const { response, key: caller, action, resource } of expected) {
      const record = await recordOf(response);
      // Managing another tenant's key is recorded in that tenant's trail.
      const managed = action === 'key.create' || action === 'key.revoke';
      expect(record).toMatchObject({
        tenant_id: managed ? key.body.tenant_id : caller.tenantId,
        actor: `key:${caller.id}`,
        action,
        resource_type: resource[0],
        resource_id: resource[1],
        outcome: 'success',
        status_code: response.status,
        request_id: requestIdOf(response),
        client_ip: '127.0.0.1',
        user_agent: USER_AGENT,
      });
    }
    await settle();
    for (const { response } of expected) expect(await recordsOf(requestIdOf(response))).toHaveLength(1);
    // Every action of the trail appears, and nothing else was recorded besides the call that
    // made the research to retry.
    expect(new Set(expected.map((entry) => entry.action)).size).toBe(14);
    const [{ count }] = await stack.database.query<{ count: string }>('SELECT count(*) FROM audit_records');
    expect(Number(count)).toBe(expected.length + 1);
  });

  it('records a call that failed as a failure, with the status it was answered', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const responses = [
      await call('GET', `/api/v1/research/${missing}`, keys.a),
      await call('POST', `/api/v1/research/${missing}/cancel`, keys.a),
      await call('POST', '/api/v1/research', keys.a, { question: '' }),
    ];
    expect(responses.map((response) => response.status)).toEqual([404, 404, 400]);
    const records: Row[] = [];
    for (const response of responses) records.push(await recordOf(response));
    expect(records.map((r) => [r.action, r.outcome, r.status_code, r.resource_id, r.actor])).toEqual([
      ['research.read', 'failure', 404, missing, `key:${keys.a.id}`],
      ['research.cancel', 'failure', 404, missing, `key:${keys.a.id}`],
      ['research.create', 'failure', 400, null, `key:${keys.a.id}`],
    ]);
    await settle();
    for (const response of responses) expect(await recordsOf(requestIdOf(response))).toHaveLength(1);
  });

  it('records what a caller put in the path as text PostgreSQL keeps exactly as hashed: NUL, characters beyond the BMP', async () => {
    const responses = [
      await call('GET', `/api/v1/research/${encodeURIComponent('nul\0id')}`, keys.a),
      await call('GET', `/api/v1/research/${encodeURIComponent('\u{1F600}')}`, keys.a),
    ];
    expect(responses.map((response) => response.status)).toEqual([400, 400]);
    const records: Row[] = [];
    for (const response of responses) records.push(await recordOf(response));
    expect(records.map((r) => r.resource_id)).toEqual(['nul\uFFFDid', '\u{1F600}']);
    expect((await call('GET', '/api/v1/audit/verify', keys.a)).body).toMatchObject({ valid: true });
  });

  it('records refusals as denied: no key (401) and a key without the scope (403)', async () => {
    const unauthenticated = await call('GET', '/api/v1/research', null);
    const badKey = await call('POST', '/api/v1/documents', { ...keys.a, text: `drs_AAAAAAAA_${'A'.repeat(43)}` }, {});
    const forbidden = await call('POST', '/api/v1/research', keys.aReader, { question: 'not allowed' });
    const notAdmin = await call('GET', '/api/v1/admin/keys', keys.a);
    expect([unauthenticated, badKey, forbidden, notAdmin].map((response) => response.status)).toEqual([
      401, 401, 403, 403,
    ]);
    expect(await recordOf(unauthenticated)).toMatchObject({
      tenant_id: null,
      actor: 'anonymous',
      action: 'research.list',
      outcome: 'denied',
      status_code: 401,
      user_agent: USER_AGENT,
      client_ip: '127.0.0.1',
    });
    expect(await recordOf(badKey)).toMatchObject({
      tenant_id: null,
      actor: 'anonymous',
      action: 'document.create',
      outcome: 'denied',
      status_code: 401,
    });
    expect(await recordOf(forbidden)).toMatchObject({
      tenant_id: keys.aReader.tenantId,
      actor: `key:${keys.aReader.id}`,
      action: 'research.create',
      outcome: 'denied',
      status_code: 403,
    });
    expect(await recordOf(notAdmin)).toMatchObject({
      tenant_id: keys.a.tenantId,
      actor: `key:${keys.a.id}`,
      action: 'key.list',
      outcome: 'denied',
      status_code: 403,
    });
    await settle();
    for (const response of [unauthenticated, badKey, forbidden, notAdmin]) {
      expect(await recordsOf(requestIdOf(response))).toHaveLength(1);
    }
    // Nothing was stored by the refused calls.
    expect(await stack.database.query(`SELECT id FROM researches WHERE question = 'not allowed'`)).toEqual([]);
  });

  it('records a call over its rate limit as denied (429); without read auditing, reads leave no record, and what waits is written at shutdown', async () => {
    const port = await freePort();
    const limited = await AppProcess.startServing(
      'api',
      {
        ...stack.env,
        PORT: String(port),
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_READS: '2',
        RATE_LIMIT_WINDOW_MS: '60000',
        AUDIT_READS: 'false',
        // Nothing is written before the shutdown: it must write what waits.
        AUDIT_FLUSH_MS: '10000',
      },
      port,
    );
    try {
      const http = new HttpClient(`http://127.0.0.1:${port}`);
      const answers: HttpResponse[] = [];
      for (let i = 0; i < 3; i += 1) answers.push(await http.get('/api/v1/research?limit=1', as(keys.b)));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
      await sleep(300);
      expect(await recordsOf(requestIdOf(answers[2]!))).toEqual([]);
      await limited.stop();
      expect(await recordsOf(requestIdOf(answers[2]!))).toEqual([
        expect.objectContaining({
          tenant_id: keys.b.tenantId,
          actor: `key:${keys.b.id}`,
          action: 'research.list',
          outcome: 'denied',
          status_code: 429,
        }),
      ]);
      for (const read of answers.slice(0, 2)) expect(await recordsOf(requestIdOf(read))).toEqual([]);
    } finally {
      await limited.stop();
    }
  });

  it('keeps a flood of refused calls from one client to a record of the first and one that counts the rest', async () => {
    const port = await freePort();
    const api = await AppProcess.startServing(
      'api',
      { ...stack.env, PORT: String(port), AUDIT_DENIED_WINDOW_MS: '1000', AUDIT_FLUSH_MS: '50' },
      port,
    );
    try {
      const http = new HttpClient(`http://127.0.0.1:${port}`);
      const flood: HttpResponse[] = [];
      for (let batch = 0; batch < 10; batch += 1) {
        flood.push(
          ...(await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              http.get('/api/v1/audit/verify', { 'user-agent': `flood ${batch}-${i}` }),
            ),
          )),
        );
      }
      expect(new Set(flood.map((response) => response.status))).toEqual(new Set([401]));
      const requestIds = flood.map(requestIdOf);
      const records = await waitFor('the record that counts the flood', async () => {
        const rows = await stack.database.query<Row & { occurrences: number }>(
          'SELECT * FROM audit_records WHERE request_id = ANY($1) ORDER BY seq',
          [requestIds],
        );
        const counted = rows.reduce((sum, row) => sum + row.occurrences, 0);
        return counted === flood.length ? rows : undefined;
      });
      // The first on its own; the rest in one record per window (the flood may straddle two).
      expect(records.length).toBeGreaterThanOrEqual(2);
      expect(records.length).toBeLessThanOrEqual(4);
      expect(records[0]).toMatchObject({
        request_id: requestIdOf(flood[0]!),
        occurrences: 1,
        action: 'audit.verify',
        outcome: 'denied',
        status_code: 401,
        tenant_id: null,
      });
      expect(records.slice(1).every((record) => record.occurrences > 1)).toBe(true);
      const verified = await call('GET', '/api/v1/audit/verify', keys.admin);
      expect(verified.body.valid).toBe(true);
    } finally {
      await api.stop();
    }
  });

  describe('a change whose transaction fails', () => {
    beforeAll(async () => {
      // Stands for any failure between the change and its commit: here the record of a
      // successful research.create cannot be stored.
      await stack.database.query(`
        CREATE FUNCTION refuse_research_create() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.action = 'research.create' AND NEW.outcome = 'success' THEN
            RAISE EXCEPTION 'the audit record of this change cannot be stored';
          END IF;
          RETURN NEW;
        END $$`);
      await stack.database.query(`
        CREATE TRIGGER refuse_research_create BEFORE INSERT ON audit_outbox
        FOR EACH ROW EXECUTE FUNCTION refuse_research_create()`);
    });

    afterAll(async () => {
      await stack.database.query('DROP TRIGGER refuse_research_create ON audit_outbox');
      await stack.database.query('DROP FUNCTION refuse_research_create()');
    });

    it('leaves neither the change nor its record, queues nothing, and records the failure', async () => {
      const countResearches = async () =>
        (await stack.database.query<{ n: number }>('SELECT count(*)::int AS n FROM researches'))[0]!.n;
      const researchesBefore = await countResearches();
      const response = await call('POST', '/api/v1/research', keys.a, { question: 'A research that is never stored' });
      expect(response.status).toBe(500);
      expect(response.body.error.code).toBe('internal_error');
      expect(
        await stack.database.query(`SELECT id FROM researches WHERE question = 'A research that is never stored'`),
      ).toEqual([]);
      expect(await countResearches()).toBe(researchesBefore);
      const record = await recordOf(response);
      expect(record).toMatchObject({
        action: 'research.create',
        outcome: 'failure',
        status_code: 500,
        resource_id: null,
      });
      await settle();
      expect(await recordsOf(requestIdOf(response))).toHaveLength(1);
      // Every job in the queue belongs to a stored research.
      const stored = new Set(
        (await stack.database.query<{ id: string }>('SELECT id FROM researches')).map((row) => row.id),
      );
      const jobs = (await stack.queueKeys())
        .map((key) => /:research:([0-9a-f-]{36})$/.exec(key)?.[1])
        .filter((id): id is string => id !== undefined);
      expect(jobs.length).toBeGreaterThan(0);
      expect(jobs.filter((id) => !stored.has(id))).toEqual([]);
    });
  });

  describe('review', () => {
    const list = async (key: Key, query = ''): Promise<any[]> => {
      const response = await call('GET', `/api/v1/audit${query}`, key);
      expect(response.status).toBe(200);
      return response.body.items;
    };

    it('shows a tenant its own records only, newest first; admin sees every tenant, or the one it names', async () => {
      await call('GET', '/api/v1/research', keys.b);
      const own = await list(keys.b, '?limit=100');
      expect(own.length).toBeGreaterThan(0);
      expect(new Set(own.map((record) => record.tenant))).toEqual(new Set(['team-b']));
      const times = own.map((record) => record.occurred_at);
      expect([...times].sort().reverse()).toEqual(times);

      const refused = await call('GET', '/api/v1/audit?tenant=team-a', keys.b);
      expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 403, code: 'forbidden' });
      const verify = await call('GET', '/api/v1/audit/verify?tenant=team-a', keys.b);
      expect(verify.status).toBe(403);

      const everything = await list(keys.admin, '?limit=100');
      // team-c's records are those of the key an admin made for it and revoked.
      expect(new Set(everything.map((record) => record.tenant))).toEqual(
        new Set([null, 'team-a', 'team-b', 'team-c', 'ops']),
      );
      const teamA = await list(keys.admin, '?tenant=team-a&limit=100');
      expect(teamA.length).toBeGreaterThan(0);
      expect(new Set(teamA.map((record) => record.tenant))).toEqual(new Set(['team-a']));
      expect(await list(keys.admin, '?tenant=nobody')).toEqual([]);
    });

    it('filters by actor, action, resource, outcome and time, and pages with a cursor', async () => {
      const created = await call('POST', '/api/v1/research', keys.a, { question: 'Filter me' });
      const researchId = created.body.research_id as string;
      await call('GET', `/api/v1/research/${researchId}`, keys.a);
      await call('GET', `/api/v1/research/${researchId}`, keys.a);
      await recordOf(created);
      await settle();

      const byResource = await list(keys.a, `?resource_type=research&resource_id=${researchId}`);
      expect(byResource.map((record) => record.action)).toEqual(['research.read', 'research.read', 'research.create']);
      expect(byResource[2]).toMatchObject({
        record_id: expect.any(String),
        tenant: 'team-a',
        actor: `key:${keys.a.id}`,
        resource_type: 'research',
        resource_id: researchId,
        outcome: 'success',
        status_code: 202,
        request_id: requestIdOf(created),
        client_ip: '127.0.0.1',
        user_agent: USER_AGENT,
        seq: expect.any(Number),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        prev_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      const createdAt = byResource[2].occurred_at as string;

      const byAction = await list(keys.a, '?action=research.create&limit=100');
      expect(byAction.length).toBeGreaterThan(1);
      expect(byAction.every((record) => record.action === 'research.create')).toBe(true);
      const byActor = await list(keys.admin, `?actor=key:${keys.aReader.id}`);
      expect(byActor.map((record) => [record.action, record.outcome])).toEqual([['research.create', 'denied']]);
      const denied = await list(keys.admin, '?outcome=denied&limit=100');
      expect(denied.length).toBeGreaterThanOrEqual(4);
      expect(denied.every((record) => record.outcome === 'denied')).toBe(true);

      const justAfter = new Date(Date.parse(createdAt) + 1).toISOString();
      const window = await list(
        keys.a,
        `?resource_id=${researchId}&from=${encodeURIComponent(createdAt)}&to=${encodeURIComponent(justAfter)}`,
      );
      expect(window.map((record) => record.action)).toEqual(['research.create']);
      const after = await list(
        keys.a,
        `?resource_id=${researchId}&from=${encodeURIComponent(new Date().toISOString())}`,
      );
      expect(after).toEqual([]);

      const all = await list(keys.a, '?limit=100');
      const pages: any[] = [];
      let cursor: string | null = null;
      do {
        const response: HttpResponse = await call(
          'GET',
          `/api/v1/audit?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          keys.a,
        );
        pages.push(...response.body.items);
        cursor = response.body.next_cursor;
      } while (cursor);
      // Records written while paging are newer than the first page: the pages hold the rest.
      const ids = pages.map((record) => record.record_id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining(all.map((record) => record.record_id)));

      const invalid = await call('GET', '/api/v1/audit?action=research.delete&from=yesterday', keys.a);
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.details.map((problem: { field: string }) => problem.field).sort()).toEqual([
        'action',
        'from',
      ]);
    });

    it('exports a tenant’s chain as JSON lines with the CLI, in order, each linked to the one before', async () => {
      await settle();
      const exported = await stack.cli(['audit', 'export', '--tenant', 'team-a']);
      expect(exported.code).toBe(0);
      const lines = exported.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const [{ count }] = await stack.database.query<{ count: string }>(
        'SELECT count(*) FROM audit_records WHERE tenant_id = $1',
        [keys.a.tenantId],
      );
      expect(lines).toHaveLength(Number(count));
      expect(lines.map((line) => line.seq)).toEqual(lines.map((_, i) => i + 1));
      expect(lines.every((line) => line.tenant === 'team-a')).toBe(true);
      for (let i = 1; i < lines.length; i += 1) expect(lines[i].prev_hash).toBe(lines[i - 1].hash);
      // Each line carries what its hash covers: an archive can be checked without the database.
      const first = lines[0];
      const canonical = JSON.stringify([
        first.record_id,
        keys.a.tenantId,
        first.seq,
        first.occurred_at,
        first.actor,
        first.action,
        first.resource_type,
        first.resource_id,
        first.outcome,
        first.status_code,
        first.request_id,
        first.client_ip,
        first.user_agent,
        first.occurrences,
        first.prev_hash,
      ]);
      expect(createHash('sha256').update(canonical).digest('hex')).toBe(first.hash);

      const times = lines.map((line) => line.occurred_at as string).sort();
      const from = times[2]!;
      const to = times[6]!;
      const window = await stack.cli(['audit', 'export', '--tenant', 'team-a', '--from', from, '--to', to]);
      const windowed = window.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(windowed.length).toBeGreaterThan(0);
      expect(windowed.every((line) => line.occurred_at >= from && line.occurred_at < to)).toBe(true);
      expect(windowed.map((line) => line.record_id)).toEqual(
        lines.filter((line) => line.occurred_at >= from && line.occurred_at < to).map((line) => line.record_id),
      );
    });
  });

  describe('tampering', () => {
    let victim: Key;

    beforeAll(async () => {
      victim = await createKey('team-t', 'research:read,research:write,audit:read');
    });

    it('refuses to change or remove a record, and names exactly the record a superuser edited past the trigger', async () => {
      const responses: HttpResponse[] = [];
      for (let i = 0; i < 4; i += 1) {
        responses.push(await call('POST', '/api/v1/research', victim, { question: `Tamper ${i}` }));
      }
      const records: Row[] = [];
      for (const response of responses) records.push(await recordOf(response));
      const before = await call('GET', '/api/v1/audit/verify', victim);
      expect(before.body).toMatchObject({ valid: true, first_broken_id: null });
      expect(before.body.chains).toEqual([
        expect.objectContaining({ tenant: 'team-t', valid: true, checked: 4, first_broken_id: null }),
      ]);
      const cliBefore = await stack.cli(['audit', 'verify']);
      expect(cliBefore.code).toBe(0);
      expect(JSON.parse(cliBefore.stdout).valid).toBe(true);

      const target = records[1]!;
      await expect(
        stack.database.query(`UPDATE audit_records SET actor = 'anonymous' WHERE id = $1`, [target.id]),
      ).rejects.toThrow(/append-only/);
      await expect(stack.database.query(`DELETE FROM audit_records WHERE id = $1`, [target.id])).rejects.toThrow(
        /append-only/,
      );

      // As the superuser, with the trigger off for the moment of the edit.
      const client = await stack.database.connect();
      try {
        await client.query('BEGIN');
        await client.query('ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only');
        await client.query(`UPDATE audit_records SET actor = 'anonymous' WHERE id = $1`, [target.id]);
        await client.query('ALTER TABLE audit_records ENABLE TRIGGER audit_records_append_only');
        await client.query('COMMIT');
      } finally {
        await client.end();
      }

      const after = await call('GET', '/api/v1/audit/verify', victim);
      expect(after.status).toBe(200);
      expect(after.body).toMatchObject({ valid: false, first_broken_id: target.id });
      expect(after.body.chains).toEqual([
        {
          tenant: 'team-t',
          valid: false,
          checked: Number(target.seq),
          first_broken_id: target.id,
          first_broken_seq: Number(target.seq),
          problem: 'content_changed',
        },
      ]);
      // Other chains hold.
      expect((await call('GET', '/api/v1/audit/verify', keys.a)).body).toMatchObject({ valid: true });
      const admin = await call('GET', '/api/v1/audit/verify', keys.admin);
      expect(admin.body.valid).toBe(false);
      expect(admin.body.first_broken_id).toBe(target.id);
      expect(admin.body.chains.filter((chain: { valid: boolean }) => !chain.valid)).toEqual([
        expect.objectContaining({ tenant: 'team-t', first_broken_id: target.id }),
      ]);

      const cli = await stack.cli(['audit', 'verify', '--tenant', 'team-t']);
      expect(cli.code).toBe(1);
      expect(JSON.parse(cli.stdout)).toMatchObject({ valid: false, first_broken_id: target.id });
      expect(JSON.parse((await stack.cli(['audit', 'verify', '--tenant', 'team-a'])).stdout).valid).toBe(true);
    });
  });
});

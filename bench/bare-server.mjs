// The same work as the api's endpoints with nothing around them: a bare node:http server, the
// baseline the api is measured against.
//
// - POST /api/v1/research (bench/post-research.mjs): validates minimally, then in one transaction
//   on a pg pool runs the same insert statement (the research and its `created` event) and inserts
//   its audit record as the api does into the audit outbox (into a copy of that table, which the
//   api's audit writer does not read), then adds the same Bull job.
// - GET /api/v1/research/{id} (bench/get-research.mjs): one primary-key read of the row, and the
//   same JSON as the api's answer.
// With BENCH_BARE_PREPARED=1 its statements are prepared once per connection (named), as the
// api's hot statements are.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Queue from 'bull';
import pg from 'pg';

const port = Number(process.argv[2] ?? 8101);
// Pooled as the api's are: 10 connections, kept open while idle (DB_POOL_IDLE_TIMEOUT_MS).
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: 10,
  idleTimeoutMillis: Number(process.env.DB_POOL_IDLE_TIMEOUT_MS ?? 300_000),
});
const queue = new Queue('research', process.env.REDIS_URL, { prefix: process.env.QUEUE_PREFIX });
const TENANT = '00000000-0000-0000-0000-000000000001';
const RESEARCH_PATH = '/api/v1/research';
const PREPARED = process.env.BENCH_BARE_PREPARED === '1';
const statement = (name, text, values) => (PREPARED ? { name, text, values } : { text, values });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const INSERT = `WITH inserted AS (
  INSERT INTO researches (id, tenant_id, question, params, status, attempts, event_seq, request_id,
                          idempotency_key, idempotency_hash, created_at, updated_at)
  VALUES ($1, $2, $3, $4::jsonb, 'pending', 0, 1, $5, NULL, NULL, $6, $6)
  RETURNING id, question, status, created_at
), event AS (
  INSERT INTO research_events (research_id, seq, tenant_id, type, data, created_at)
  SELECT id, 1, $2, 'research.created', '{}'::jsonb, created_at FROM inserted
)
SELECT * FROM inserted`;

const AUDIT = `INSERT INTO bench_audit_outbox (id, tenant_id, occurred_at, actor, action, resource_type, resource_id, outcome,
  status_code, request_id, client_ip, user_agent)
  VALUES ($1, $2, $3, $4, 'research.create', 'research', $5, 'success', 202, $6, $7, $8)`;

const SELECT = `SELECT id, question, params, status, result, error, attempts, created_at, updated_at, started_at, finished_at,
  progress FROM researches WHERE tenant_id = $1 AND id = $2`;
const QUEUED = { stage: 'queued', round: 0, sources_found: 0, sources_read: 0, findings: 0, claims: 0, percent: 0 };

/** The stored progress, or what the api shows for a research that stored none. */
function progressOf(row) {
  if (row.progress) return row.progress;
  if (row.status !== 'completed' || !row.result) return QUEUED;
  const { stats, claims, findings } = row.result;
  return {
    ...QUEUED,
    stage: 'done',
    percent: 100,
    sources_found: stats.sources ?? 0,
    sources_read: stats.sources_read ?? 0,
    findings: findings.length,
    claims: claims.length,
  };
}

function submit(req, res) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', async () => {
    try {
      const input = JSON.parse(body);
      if (typeof input.question !== 'string' || input.question.trim().length === 0) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"question"}');
        return;
      }
      const id = randomUUID();
      const params = {
        maxSources: input.max_sources ?? 10,
        verify: input.verify ?? true,
        language: input.language ?? 'en',
        sources: ['corpus'],
      };
      const requestId = randomUUID();
      const createdAt = new Date();
      const client = await pool.connect();
      let rows;
      try {
        await client.query('BEGIN');
        ({ rows } = await client.query(
          statement('insert', INSERT, [
            id,
            TENANT,
            input.question.trim(),
            JSON.stringify(params),
            requestId,
            createdAt,
          ]),
        ));
        await client.query(
          statement('audit', AUDIT, [
            randomUUID(),
            TENANT,
            createdAt,
            'anonymous',
            id,
            requestId,
            req.socket.remoteAddress,
            req.headers['user-agent'] ?? null,
          ]),
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
      await queue.add(
        'run-research',
        { researchId: id, tenantId: TENANT, requestId: null },
        {
          jobId: id,
          attempts: 3,
          backoff: { type: 'exponential', delay: 5000 },
          removeOnComplete: true,
          removeOnFail: 1000,
        },
      );
      const row = rows[0];
      res.writeHead(202, { 'content-type': 'application/json', location: `${RESEARCH_PATH}/${id}` }).end(
        JSON.stringify({
          research_id: row.id,
          question: row.question,
          status: row.status,
          created_at: row.created_at,
        }),
      );
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
}

const iso = (date) => (date ? date.toISOString() : null);

async function read(id, res) {
  try {
    const { rows } = await pool.query(statement('select', SELECT, [TENANT, id]));
    const row = rows[0];
    if (!row) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const { maxSources, verify, language, depth, reviewPlan, callbackUrl, budget, sources = ['corpus'] } = row.params;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        research_id: row.id,
        question: row.question,
        status: row.status,
        created_at: iso(row.created_at),
        started_at: iso(row.started_at),
        finished_at: iso(row.finished_at),
        max_sources: maxSources,
        verify,
        language,
        depth: depth ?? 1,
        review_plan: reviewPlan ?? false,
        progress: progressOf(row),
        sources,
        attempts: row.attempts,
        callback_url: callbackUrl ?? null,
        budget: budget
          ? {
              max_tokens: budget.tokens,
              max_cost_usd: budget.costUsd,
              max_llm_calls: budget.llmCalls,
              max_seconds: budget.seconds,
            }
          : null,
        result: row.result,
        error: row.error,
        updated_at: iso(row.updated_at),
      }),
    );
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
}

await pool.query('CREATE TABLE IF NOT EXISTS bench_audit_outbox (LIKE audit_outbox INCLUDING ALL)');

createServer((req, res) => {
  if (req.method === 'POST' && req.url === RESEARCH_PATH) return submit(req, res);
  const id = req.url.startsWith(`${RESEARCH_PATH}/`) ? req.url.slice(RESEARCH_PATH.length + 1) : '';
  if (req.method === 'GET' && UUID.test(id)) return read(id.toLowerCase(), res);
  res.writeHead(404).end();
}).listen(port, '127.0.0.1');

// An exit rather than death by the signal, so that `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));

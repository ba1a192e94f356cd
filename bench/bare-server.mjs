// The same work as POST /api/v1/research with nothing around it: a bare node:http handler that
// validates minimally, runs the same insert statement on a pg pool and adds the same Bull job.
// The baseline the api is measured against (bench/post-research.mjs).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Queue from 'bull';
import pg from 'pg';

const port = Number(process.argv[2] ?? 8101);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const queue = new Queue('research', process.env.REDIS_URL, { prefix: process.env.QUEUE_PREFIX });
const TENANT = '00000000-0000-0000-0000-000000000001';

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

createServer((req, res) => {
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
      };
      const { rows } = await pool.query(INSERT, [
        id,
        TENANT,
        input.question.trim(),
        JSON.stringify(params),
        randomUUID(),
        new Date(),
      ]);
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
      res.writeHead(202, { 'content-type': 'application/json', location: `/api/v1/research/${id}` }).end(
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
}).listen(port, '127.0.0.1');

import { EVENT_TYPES } from '@app/research';
import {
  AppProcess,
  FakeLlmServer,
  TestStack,
  freePort,
  installResearchResponders,
  scrape,
  valueOf,
  waitFor,
} from '@app/testing';

interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * An EventSource-style client over fetch: it parses `text/event-stream` as it arrives, keeps
 * comments apart, and can be dropped mid-stream as a broken connection would be.
 */
class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  contentType = '';
  /** Resolves when the server ends the stream (true) or the client drops it (false). */
  readonly ended: Promise<boolean>;
  private readonly controller = new AbortController();
  private opened!: () => void;
  readonly open = new Promise<void>((resolve) => (this.opened = resolve));

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ended = this.read(url, headers);
  }

  drop(): void {
    this.controller.abort();
  }

  private async read(url: string, headers: Record<string, string>): Promise<boolean> {
    try {
      const response = await fetch(url, { headers, signal: this.controller.signal });
      this.status = response.status;
      this.contentType = response.headers.get('content-type') ?? '';
      this.opened();
      if (!response.body) return true;
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
      return true;
    } catch {
      this.opened();
      return false;
    }
  }

  private parse(block: string): void {
    const event: SseEvent = { id: undefined, event: undefined, data: '' };
    let fields = 0;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (name === 'id') event.id = value;
      else if (name === 'event') event.event = value;
      else if (name === 'data') event.data += value;
      else continue;
      fields += 1;
    }
    if (fields > 0) this.events.push(event);
  }
}

/**
 * Research events as Server-Sent Events, through two api processes, a worker, PostgreSQL's
 * LISTEN/NOTIFY and a fake LLM slow enough that a research runs for a few seconds.
 */
describe('research events as Server-Sent Events', () => {
  let llm: FakeLlmServer;
  let stack: TestStack;
  let second: AppProcess;
  let secondUrl: string;

  beforeAll(async () => {
    llm = await FakeLlmServer.start({ models: ['qwen-72b'], latencyMs: 250 });
    installResearchResponders(llm);
    stack = await TestStack.create({
      label: 'events',
      env: {
        LLM_BASE_URL: llm.baseUrl,
        LLM_CACHE_TTL_SECONDS: '0',
        EVENTS_KEEP_ALIVE_MS: '300',
      },
    });
    expect((await stack.cli(['ingest', 'examples/corpus'])).code).toBe(0);
    await stack.startApi();
    const port = await freePort();
    second = await AppProcess.startServing('api', { ...stack.env, PORT: String(port) }, port);
    secondUrl = `http://127.0.0.1:${port}`;
    await stack.startWorker();
  });

  beforeEach(() => {
    llm.reset();
  });

  afterAll(async () => {
    await second?.stop();
    await stack?.teardown();
    await llm?.stop();
  });

  const firstUrl = () => `http://127.0.0.1:${stack.apiPort}`;
  const storedEvents = (id: string) =>
    stack.database.query<{ seq: number; type: string }>(
      `SELECT seq, type FROM research_events WHERE research_id = $1 ORDER BY seq`,
      [id],
    );

  it('streams a running research from one api, and the rest after Last-Event-ID from another, then ends', async () => {
    const id = await stack.submit({ question: 'HBM memory supply 2024', language: 'en', depth: 1 });
    // Meanwhile a client polls its progress.
    const progress: { stage: string; percent: number }[] = [];
    const polling = (async () => {
      for (;;) {
        const research = await stack.research(id);
        progress.push(research.progress);
        if (research.status === 'completed') return research;
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    const first = new SseClient(`${firstUrl()}/api/v1/research/${id}/events`);
    await first.open;
    expect(first.status).toBe(200);
    expect(first.contentType).toBe('text/event-stream; charset=utf-8');
    await waitFor('a few events', () => first.events.length >= 4, 20000);
    first.drop();
    expect(await first.ended).toBe(false);
    const lastId = Number(first.events.at(-1)!.id);

    const rest = new SseClient(`${secondUrl}/api/v1/research/${id}/events`, { 'Last-Event-ID': String(lastId) });
    // It stays open while the research runs, and the server ends it after the terminal event.
    expect(await rest.ended).toBe(true);
    const research = await stack.research(id);
    expect(research.status).toBe('completed');

    const stored = await storedEvents(id);
    expect(rest.events.map((e) => Number(e.id))).toEqual(stored.filter((e) => e.seq > lastId).map((e) => e.seq));
    expect(rest.events.map((e) => e.event)).toEqual(stored.filter((e) => e.seq > lastId).map((e) => e.type));
    expect(rest.events.at(-1)!.event).toBe('research.completed');
    // Before the drop, the first client had exactly the events up to its last id.
    expect(first.events.map((e) => Number(e.id))).toEqual(stored.filter((e) => e.seq <= lastId).map((e) => e.seq));
    const data = JSON.parse(rest.events.at(-1)!.data);
    expect(data).toMatchObject({ seq: Number(rest.events.at(-1)!.id), type: 'research.completed' });
    expect(Date.parse(data.created_at)).toBeGreaterThan(0);
    // Stages of the engine come through as they happen.
    expect([...first.events, ...rest.events].map((e) => e.event)).toContain('stage.finished');

    // The progress the client saw only moved forward, through the stages, to what the result holds.
    const done = await polling;
    const percents = progress.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(new Set(progress.map((p) => p.stage)).size).toBeGreaterThan(2);
    expect(progress.some((p) => p.percent > 0 && p.percent < 100)).toBe(true);
    expect(done.progress).toEqual({
      stage: 'done',
      round: 1,
      sources_found: done.result.stats.sources,
      sources_read: done.result.stats.sources_read,
      findings: done.result.findings.length,
      claims: done.result.claims.filter((c: { label: string }) => c.label !== 'synthesis').length,
      percent: 100,
    });
  });

  it('replays a finished research for a browser (last_event_id), and ends at once when nothing is left', async () => {
    const id = await stack.submit({ question: 'HBM memory supply 2024', language: 'en', depth: 1 });
    await stack.waitForStatus(id, ['completed'], 30000);
    const stored = await storedEvents(id);

    const all = new SseClient(`${secondUrl}/api/v1/research/${id}/events`);
    expect(await all.ended).toBe(true);
    expect(all.events.map((e) => Number(e.id))).toEqual(stored.map((e) => e.seq));

    const fromThird = new SseClient(`${firstUrl()}/api/v1/research/${id}/events?last_event_id=3`);
    expect(await fromThird.ended).toBe(true);
    expect(fromThird.events.map((e) => Number(e.id))).toEqual(stored.filter((e) => e.seq > 3).map((e) => e.seq));

    const upToDate = new SseClient(`${firstUrl()}/api/v1/research/${id}/events`, {
      'Last-Event-ID': String(stored.at(-1)!.seq),
    });
    expect(await upToDate.ended).toBe(true);
    expect(upToDate.events).toEqual([]);
  });

  it('keeps a quiet stream alive with comments, and holds many streams on one listening connection', async () => {
    // The model hangs: the research stays running, and its streams stay quiet.
    llm.inject({ hang: true }, { schema: 'research_plan' });
    const id = await stack.submit({ question: 'HBM memory supply 2024', language: 'en', depth: 1 });
    await waitFor('the plan call', () => llm.callsFor('research_plan').length === 1, 20000);

    // Streams of earlier tests may still be closing: count from what is open now.
    const before = valueOf((await scrape(firstUrl())).samples, 'research_event_streams');
    const streams = Array.from({ length: 40 }, () => new SseClient(`${firstUrl()}/api/v1/research/${id}/events`));
    await Promise.all(streams.map((s) => s.open));
    await waitFor('keep-alive comments', () => streams.every((s) => s.comments.includes('keep-alive')), 5000);
    const metrics = await scrape(firstUrl());
    expect(valueOf(metrics.samples, 'research_event_streams') - before).toBe(40);
    // One connection listens for the whole process; the streams hold none.
    const connections = await stack.database.query<{ name: string; n: number }>(
      `SELECT application_name AS name, count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY application_name`,
    );
    const listening = connections.find((c) => c.name === 'research-events')?.n ?? 0;
    expect(listening).toBeGreaterThanOrEqual(1);
    expect(listening).toBeLessThanOrEqual(2);
    expect(connections.reduce((sum, c) => sum + c.n, 0)).toBeLessThan(40);

    expect((await stack.http.post(`/api/v1/research/${id}/cancel`)).status).toBe(200);
    const ended = await Promise.all(streams.map((s) => s.ended));
    expect(ended.every(Boolean)).toBe(true);
    for (const s of streams) expect(s.events.at(-1)!.event).toBe('research.cancelled');
    await waitFor('the streams to be counted closed', async () =>
      valueOf((await scrape(firstUrl())).samples, 'research_event_streams') <= before ? true : undefined,
    );
    expect(valueOf((await scrape(firstUrl())).samples, 'research_events_sent_total')).toBeGreaterThanOrEqual(
      streams.length * 2,
    );
  });

  it('answers 404 for a research of another tenant or none, and 400 for a Last-Event-ID that is not a number', async () => {
    const id = await stack.submit({ question: 'HBM memory supply 2024', language: 'en', depth: 1 });
    const created = await stack.cli(['keys', 'create', '--tenant', 'other-team', '--scopes', 'research:read']);
    const key = created.stdout.trim().split('\n').at(-1)!;
    const other = await fetch(`${firstUrl()}/api/v1/research/${id}/events`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('not_found');

    const none = await fetch(`${firstUrl()}/api/v1/research/00000000-0000-4000-8000-000000000000/events`);
    expect(none.status).toBe(404);

    const bad = await fetch(`${firstUrl()}/api/v1/research/${id}/events`, { headers: { 'Last-Event-ID': 'abc' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: unknown } }).error.details).toEqual([
      { field: 'Last-Event-ID', message: 'Last-Event-ID must be the id of an event of this research: a whole number' },
    ]);
    // The OpenAPI document names every event type a stream may send, from the one typed list.
    const document = (await (await fetch(`${firstUrl()}/docs-json`)).json()) as {
      paths: Record<string, { get: { description: string } }>;
    };
    const described = document.paths['/api/v1/research/{id}/events']!.get.description;
    for (const type of EVENT_TYPES) expect(described).toContain(`\`${type}\``);
    // A repeated query parameter is not an id either.
    const twice = await fetch(`${firstUrl()}/api/v1/research/${id}/events?last_event_id=1&last_event_id=2`);
    expect(twice.status).toBe(400);
    await stack.waitForStatus(id, ['completed', 'failed'], 30000);
  });

  it('ends its open streams when the api shuts down, so that it exits at once with 0', async () => {
    llm.inject({ hang: true }, { schema: 'research_plan' });
    const id = await stack.submit({ question: 'HBM memory supply 2024', language: 'en', depth: 1 });
    const stream = new SseClient(`${secondUrl}/api/v1/research/${id}/events`);
    await stream.open;
    await waitFor('the first events', () => stream.events.length >= 1, 10000);
    const stopping = Date.now();
    second.kill('SIGTERM');
    expect(await second.waitForExit(10000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopping).toBeLessThan(5000);
    // The server ended the stream; the client reconnects elsewhere with its Last-Event-ID.
    expect(await stream.ended).toBe(true);
    expect((await stack.http.post(`/api/v1/research/${id}/cancel`)).status).toBe(200);
  });
});

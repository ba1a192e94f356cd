import { ResearchEventType, ResearchStatus } from '@app/research';
import { HttpClient } from '../http-client';
import { TestDatabase } from '../test-database';
import { sleep } from '../wait-for';

type TerminalStatus = ResearchStatus.Completed | ResearchStatus.Failed | ResearchStatus.Cancelled;

const TERMINAL_EVENT: Readonly<Record<TerminalStatus, ResearchEventType>> = {
  [ResearchStatus.Completed]: ResearchEventType.Completed,
  [ResearchStatus.Failed]: ResearchEventType.Failed,
  [ResearchStatus.Cancelled]: ResearchEventType.Cancelled,
};
const TERMINAL_STATUSES = Object.keys(TERMINAL_EVENT);
const TERMINAL_EVENTS = Object.values(TERMINAL_EVENT);

export interface OutcomeExpectation {
  /** How long every research has to reach a terminal state. */
  timeoutMs: number;
  /** The terminal status each research must end in: `completed` unless told otherwise. */
  expected?: TerminalStatus | ((id: string) => TerminalStatus);
  /** When given, every research is also read through the api, as a user would. */
  http?: HttpClient;
}

export interface OutcomeReport {
  acknowledged: number;
  byStatus: Record<string, number>;
  /** Everything that breaks the invariants, one line each; empty when they hold. */
  violations: string[];
  /** From acceptance to the terminal state, over the researches that reached one. */
  durationsMs: { p50: number; p95: number; max: number };
  /** Researches that took more than one run. */
  rerun: number;
  /** `research.requeued` events: jobs the reconciler put back on the queue. */
  requeued: number;
  /** How long the wait for the terminal states took, from the call. */
  settledInMs: number;
}

interface ResearchRow {
  id: string;
  status: string;
  attempts: number;
  has_result: boolean;
  created_at: Date;
  finished_at: Date | null;
  terminal_events: string[];
  requeued: number;
}

/**
 * Waits until every research the api acknowledged (202) is in a terminal state, or the time is
 * up, then checks what must hold whatever failed on the way: each one exists, is in the status
 * expected, has exactly one terminal event and that event matches its status, and a completed
 * one has its result. Queries that fail while the database is recovering are retried.
 */
export async function settleResearches(
  database: TestDatabase,
  ids: readonly string[],
  expectation: OutcomeExpectation,
): Promise<OutcomeReport> {
  const started = Date.now();
  const deadline = started + expectation.timeoutMs;
  let rows: ResearchRow[];
  for (;;) {
    rows = await readResearches(database, ids, deadline);
    const unfinished = rows.filter((row) => !TERMINAL_STATUSES.includes(row.status));
    if ((rows.length === new Set(ids).size && unfinished.length === 0) || Date.now() > deadline) break;
    await sleep(200);
  }
  const settledInMs = Date.now() - started;
  const expectedOf = (id: string): TerminalStatus =>
    typeof expectation.expected === 'function'
      ? expectation.expected(id)
      : (expectation.expected ?? ResearchStatus.Completed);

  const violations: string[] = [];
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const id of new Set(ids)) {
    const row = byId.get(id);
    if (!row) {
      violations.push(`${id}: acknowledged but not in the database`);
      continue;
    }
    const expected = expectedOf(id);
    if (row.status !== expected) {
      violations.push(`${id}: ${row.status} after ${row.attempts} run(s), expected ${expected}`);
    }
    const terminalEvents = row.terminal_events;
    if (terminalEvents.length !== 1) {
      violations.push(`${id}: ${terminalEvents.length} terminal events (${terminalEvents.join(', ') || 'none'})`);
    } else if (
      TERMINAL_STATUSES.includes(row.status) &&
      terminalEvents[0] !== TERMINAL_EVENT[row.status as TerminalStatus]
    ) {
      violations.push(`${id}: status ${row.status} but terminal event ${terminalEvents[0]}`);
    }
    if (row.status === ResearchStatus.Completed && !row.has_result)
      violations.push(`${id}: completed without a result`);
  }
  if (expectation.http) violations.push(...(await readThroughApi(expectation.http, rows)));

  const durations = rows
    .filter((row) => row.finished_at !== null)
    .map((row) => (row.finished_at as Date).getTime() - row.created_at.getTime())
    .sort((a, b) => a - b);
  const byStatus: Record<string, number> = {};
  for (const row of rows) byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
  const missing = new Set(ids).size - rows.length;
  if (missing > 0) byStatus.missing = missing;
  return {
    acknowledged: new Set(ids).size,
    byStatus,
    violations,
    durationsMs: { p50: percentile(durations, 0.5), p95: percentile(durations, 0.95), max: durations.at(-1) ?? 0 },
    rerun: rows.filter((row) => row.attempts > 1).length,
    requeued: rows.reduce((sum, row) => sum + row.requeued, 0),
    settledInMs,
  };
}

/** One line for the log of the suite: what a scenario did and how long it took. */
export function describeOutcome(scenario: string, report: OutcomeReport, elapsedMs: number): string {
  const statuses = Object.entries(report.byStatus)
    .map(([status, count]) => `${status} ${count}`)
    .join(', ');
  const { p50, p95, max } = report.durationsMs;
  return (
    `[fault scenario] ${scenario}: ${(elapsedMs / 1000).toFixed(1)} s; ${report.acknowledged} acknowledged: ${statuses}; ` +
    `accepted→terminal p50 ${p50} ms, p95 ${p95} ms, max ${max} ms; ${report.rerun} run more than once, ` +
    `${report.requeued} re-queued; all terminal ${(report.settledInMs / 1000).toFixed(1)} s after the last submission; ` +
    `${report.violations.length} violation(s)`
  );
}

async function readResearches(
  database: TestDatabase,
  ids: readonly string[],
  deadline: number,
): Promise<ResearchRow[]> {
  for (;;) {
    try {
      return await database.query<ResearchRow>(
        `SELECT r.id, r.status, r.attempts, r.result IS NOT NULL AS has_result, r.created_at, r.finished_at,
                COALESCE(array_agg(e.type ORDER BY e.seq) FILTER (WHERE e.type = ANY($2)), '{}') AS terminal_events,
                count(*) FILTER (WHERE e.type = $3)::int AS requeued
           FROM researches r LEFT JOIN research_events e ON e.research_id = r.id
          WHERE r.id = ANY($1::uuid[])
          GROUP BY r.id`,
        [ids, TERMINAL_EVENTS, ResearchEventType.Requeued],
      );
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

async function readThroughApi(http: HttpClient, rows: ResearchRow[]): Promise<string[]> {
  const problems: string[] = [];
  for (const row of rows) {
    const response = await http.get(`/api/v1/research/${row.id}`).catch((error: Error) => error);
    if (response instanceof Error) problems.push(`${row.id}: GET failed: ${response.message}`);
    else if (response.status !== 200) problems.push(`${row.id}: GET answered ${response.status}`);
    else if (response.body.status !== row.status) {
      problems.push(`${row.id}: the api says ${response.body.status}, the database ${row.status}`);
    } else if (row.status === ResearchStatus.Completed && !(response.body.result?.report?.length > 0)) {
      problems.push(`${row.id}: completed, but the api shows no report`);
    }
  }
  return problems;
}

function percentile(sorted: number[], share: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] as number;
}

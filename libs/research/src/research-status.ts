export enum ResearchStatus {
  Pending = 'pending',
  Running = 'running',
  /** The plan is made; the research waits for its caller to accept or edit it (`review_plan`). */
  AwaitingReview = 'awaiting_review',
  Completed = 'completed',
  Failed = 'failed',
  Cancelled = 'cancelled',
}

export const RESEARCH_STATUSES: readonly ResearchStatus[] = Object.values(ResearchStatus);

const TRANSITIONS: Readonly<Record<ResearchStatus, readonly ResearchStatus[]>> = {
  // running -> running is a new worker taking over a research whose lease expired.
  [ResearchStatus.Pending]: [ResearchStatus.Running, ResearchStatus.Cancelled],
  [ResearchStatus.Running]: [
    ResearchStatus.Running,
    ResearchStatus.Pending,
    ResearchStatus.AwaitingReview,
    ResearchStatus.Completed,
    ResearchStatus.Failed,
    ResearchStatus.Cancelled,
  ],
  // Back to the queue once the plan is accepted; cancelled by its caller, or when the review
  // takes longer than PLAN_REVIEW_TIMEOUT_SECONDS. No worker holds it meanwhile.
  [ResearchStatus.AwaitingReview]: [ResearchStatus.Pending, ResearchStatus.Cancelled],
  [ResearchStatus.Completed]: [],
  // Only when a user asks for it: POST /api/v1/research/{id}/retry.
  [ResearchStatus.Failed]: [ResearchStatus.Pending],
  [ResearchStatus.Cancelled]: [],
};

const TERMINAL: ReadonlySet<ResearchStatus> = new Set([
  ResearchStatus.Completed,
  ResearchStatus.Failed,
  ResearchStatus.Cancelled,
]);

/** A state the service never leaves on its own; a failed research leaves it only when retried. */
export function isTerminal(status: ResearchStatus): boolean {
  return TERMINAL.has(status);
}

export function canTransition(from: ResearchStatus, to: ResearchStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses a research may be in for the transition to `to` to be allowed. */
export function statusesAllowing(to: ResearchStatus): ResearchStatus[] {
  return RESEARCH_STATUSES.filter((from) => canTransition(from, to));
}

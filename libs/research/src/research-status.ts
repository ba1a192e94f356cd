export enum ResearchStatus {
  Pending = 'pending',
  Running = 'running',
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
    ResearchStatus.Completed,
    ResearchStatus.Failed,
    ResearchStatus.Cancelled,
  ],
  [ResearchStatus.Completed]: [],
  [ResearchStatus.Failed]: [],
  [ResearchStatus.Cancelled]: [],
};

export function isTerminal(status: ResearchStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

export function canTransition(from: ResearchStatus, to: ResearchStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses a research may be in for the transition to `to` to be allowed. */
export function statusesAllowing(to: ResearchStatus): ResearchStatus[] {
  return RESEARCH_STATUSES.filter((from) => canTransition(from, to));
}

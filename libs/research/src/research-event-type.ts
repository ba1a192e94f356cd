/** Lifecycle events the research service itself records; runners add their own stage events. */
export enum ResearchEventType {
  Created = 'research.created',
  Started = 'research.started',
  Completed = 'research.completed',
  Failed = 'research.failed',
  Cancelled = 'research.cancelled',
  RetryScheduled = 'research.retry_scheduled',
  HandedBack = 'research.handed_back',
  Requeued = 'research.requeued',
  Retried = 'research.retried',
}

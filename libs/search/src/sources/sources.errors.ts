import { DomainError, ErrorCode } from '@app/common';

export interface ProviderFailureNote {
  provider: string;
  reason: string;
  message: string;
}

/** What a `search.failed` event says of one provider: how many queries it failed, and why. */
export interface ProviderFailureSummary {
  provider: string;
  queries: number;
  reasons: Record<string, number>;
}

/** The failures of a search, one summary per provider in the order they first failed. */
export function summarizeFailures(notes: readonly ProviderFailureNote[]): ProviderFailureSummary[] {
  const byProvider = new Map<string, ProviderFailureSummary>();
  for (const note of notes) {
    const summary = byProvider.get(note.provider) ?? { provider: note.provider, queries: 0, reasons: {} };
    summary.queries += 1;
    summary.reasons[note.reason] = (summary.reasons[note.reason] ?? 0) + 1;
    byProvider.set(note.provider, summary);
  }
  return [...byProvider.values()];
}

/** Retryable: every provider the research asked failed, which is most often an outage that passes. */
export class SearchFailedError extends DomainError {
  constructor(readonly failures: readonly ProviderFailureNote[]) {
    super(
      ErrorCode.SearchFailed,
      `no search provider answered: ${failures.map((f) => `${f.provider} (${f.reason}: ${f.message})`).join('; ')}`,
      { providers: failures.map((f) => f.provider) },
      true,
    );
  }
}

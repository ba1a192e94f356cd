import { DomainError, ErrorCode } from '@app/common';

export interface ProviderFailureNote {
  provider: string;
  reason: string;
  message: string;
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

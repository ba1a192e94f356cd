import { DomainError, ErrorCode } from '@app/common';

/** Retryable: the time a text takes depends on the machine's load as much as on the text. */
export class TextProcessingTimeoutError extends DomainError {
  constructor(task: string, characters: number, timeoutMs: number) {
    super(
      ErrorCode.TextProcessingTimeout,
      `processing the text took longer than ${timeoutMs} ms; try again later`,
      { task, characters, timeout_ms: timeoutMs },
      true,
    );
  }
}

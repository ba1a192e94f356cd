import { DomainError, ErrorCode } from '@app/common';

export class DocumentTooLargeError extends DomainError {
  constructor(bytes: number, maxBytes: number) {
    super(
      ErrorCode.PayloadTooLarge,
      `document text is ${bytes} bytes; the limit is ${maxBytes} bytes`,
      { bytes, max_bytes: maxBytes },
      false,
    );
  }
}

/** PostgreSQL's full-text index holds at most 1 MB per document: words, positions and all. */
export class DocumentNotIndexableError extends DomainError {
  constructor() {
    super(
      ErrorCode.PayloadTooLarge,
      'the document has too many distinct words for the full-text index (at most 1 MB of index per document); ' +
        'split it into smaller documents',
      { reason: 'search_index_limit' },
      false,
    );
  }
}

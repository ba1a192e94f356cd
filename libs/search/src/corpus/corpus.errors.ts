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

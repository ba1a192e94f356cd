import { DomainError, ErrorCode } from '@app/common';

/** No key, or one that is unknown, expired or revoked: 401. */
export class UnauthorizedError extends DomainError {
  constructor(message: string) {
    super(ErrorCode.Unauthorized, message, undefined, false);
  }
}

/** A valid key without the scope the route needs: 403. */
export class ForbiddenError extends DomainError {
  constructor(required: readonly string[], granted: readonly string[]) {
    super(
      ErrorCode.Forbidden,
      `this key may not do this: it needs ${required.join(' and ')}`,
      { required_scopes: [...required], granted_scopes: [...granted] },
      false,
    );
  }
}

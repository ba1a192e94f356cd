export { sleep, untilAborted } from './abortable';
export { DomainError, ErrorCode, NotFoundError, ValidationError } from './domain-error';
export type { ErrorDetails, FieldProblem } from './domain-error';
export { DEFAULT_TENANT_ID } from './tenant';
export { IsSmallJsonObject, present } from './validators';
export { decodeCursor, encodeCursor } from './page-cursor';
export type { PageCursor } from './page-cursor';
export { isUnavailableError } from './unavailable';
export { PUBLIC_ROUTE, PublicRoute } from './public-route';

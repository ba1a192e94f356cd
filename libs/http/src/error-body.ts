import { ErrorCode, FieldProblem } from '@app/common';
import { ErrorResponseDto } from './error-response.dto';

/**
 * The common error body. `details` follows one rule whatever raised the error (see
 * `ERROR_DETAILS_RULE`), so a client reads it the same way for every code.
 */
export function errorBody(code: string, message: string, requestId: string, details?: unknown): ErrorResponseDto {
  return { error: { code, message, details: detailsOf(code, details) }, request_id: requestId };
}

function detailsOf(code: string, details: unknown): FieldProblem[] | Record<string, unknown> {
  if (code === ErrorCode.ValidationFailed) return Array.isArray(details) ? (details as FieldProblem[]) : [];
  return typeof details === 'object' && details !== null && !Array.isArray(details)
    ? (details as Record<string, unknown>)
    : {};
}

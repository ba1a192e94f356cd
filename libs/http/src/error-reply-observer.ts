import { FastifyRequest } from 'fastify';

/** The answer the exception filter sent for a request. */
export interface ErrorReplySent {
  status: number;
  code: string;
}

/**
 * Told of every error answer the exception filter sends, with its final status and code: the
 * one place that sees refusals by guards (401, 403, 429) as well as failures of handlers. Bound
 * by an app that wants them (the audit trail); the filter works without one.
 */
export abstract class ErrorReplyObserver {
  abstract errorReplied(request: FastifyRequest, reply: ErrorReplySent): void;
}

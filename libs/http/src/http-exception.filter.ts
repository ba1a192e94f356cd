import { STATUS_CODES } from 'node:http';
import { DomainError, ErrorCode, isUnavailableError } from '@app/common';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger, Optional } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-body';
import { ErrorReplyObserver } from './error-reply-observer';
import { REQUEST_ID_HEADER } from './request-id';

const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.ValidationFailed]: HttpStatus.BAD_REQUEST,
  [ErrorCode.Unauthorized]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.Forbidden]: HttpStatus.FORBIDDEN,
  [ErrorCode.RateLimited]: HttpStatus.TOO_MANY_REQUESTS,
  [ErrorCode.MalformedJson]: HttpStatus.BAD_REQUEST,
  [ErrorCode.MalformedRequest]: HttpStatus.BAD_REQUEST,
  [ErrorCode.RequestTimeout]: HttpStatus.REQUEST_TIMEOUT,
  // Nest's HttpStatus has no 431.
  [ErrorCode.HeadersTooLarge]: 431,
  [ErrorCode.UriTooLong]: HttpStatus.URI_TOO_LONG,
  [ErrorCode.UnsupportedMediaType]: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  [ErrorCode.PayloadTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [ErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.RouteNotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.MethodNotAllowed]: HttpStatus.METHOD_NOT_ALLOWED,
  [ErrorCode.Conflict]: HttpStatus.CONFLICT,
  [ErrorCode.NotCancellable]: HttpStatus.CONFLICT,
  [ErrorCode.NotRetryable]: HttpStatus.CONFLICT,
  [ErrorCode.NotRedeliverable]: HttpStatus.CONFLICT,
  [ErrorCode.NotAwaitingReview]: HttpStatus.CONFLICT,
  [ErrorCode.IdempotencyKeyReused]: HttpStatus.UNPROCESSABLE_ENTITY,
  [ErrorCode.NotReady]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.DependencyUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.Internal]: HttpStatus.INTERNAL_SERVER_ERROR,
  [ErrorCode.ResearchCancelled]: HttpStatus.CONFLICT,
  [ErrorCode.LeaseLost]: HttpStatus.CONFLICT,
  [ErrorCode.ShutdownInProgress]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.RunnerFailed]: HttpStatus.INTERNAL_SERVER_ERROR,
  [ErrorCode.LlmFailed]: HttpStatus.BAD_GATEWAY,
  [ErrorCode.BudgetExhausted]: HttpStatus.UNPROCESSABLE_ENTITY,
  [ErrorCode.TextProcessingTimeout]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.SearchFailed]: HttpStatus.BAD_GATEWAY,
  // Only ever stored as a cancelled research's `error`, never an answer.
  [ErrorCode.PlanReviewTimeout]: HttpStatus.CONFLICT,
};

/** The HTTP status of an error code. */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? HttpStatus.INTERNAL_SERVER_ERROR;
}

/** Content types the api parses; anything else is a 415. */
const SUPPORTED_MEDIA_TYPES = ['application/json'];

/**
 * Named values for client errors Fastify raises itself. Nest hands them to the filter as
 * HttpExceptions with Fastify's message and status only, so the status tells them apart.
 */
const DETAILS_BY_STATUS: Readonly<Record<number, (request: FastifyRequest) => Record<string, unknown>>> = {
  [HttpStatus.PAYLOAD_TOO_LARGE]: (request) => ({ max_bytes: request.routeOptions.bodyLimit }),
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: () => ({ supported: SUPPORTED_MEDIA_TYPES }),
};

const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: ErrorCode.MalformedRequest,
  404: ErrorCode.RouteNotFound,
  405: ErrorCode.MethodNotAllowed,
  409: ErrorCode.Conflict,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.UnsupportedMediaType,
  422: ErrorCode.IdempotencyKeyReused,
};

const INTERNAL: Mapped = {
  status: HttpStatus.INTERNAL_SERVER_ERROR,
  code: ErrorCode.Internal,
  message: 'internal error; quote the request_id when reporting it',
};

interface Mapped {
  status: number;
  code: string;
  message: string;
  details?: unknown;
}

/**
 * Turns every error into `{"error": {"code", "message", "details"}, "request_id"}` with the right
 * status. Only messages written for the client reach it (ours, Nest's and Fastify's client
 * errors): anything else (a database error, a bug, a server error of any library) gets a generic
 * message, and a 500 logs the error with the request id.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  constructor(@Optional() private readonly observer?: ErrorReplyObserver) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const mapped = this.map(exception, request);
    if (mapped.code === ErrorCode.Internal) {
      this.logger.error({ err: exception, path: request.url }, 'unhandled error');
    } else if (mapped.code === ErrorCode.DependencyUnavailable) {
      this.logger.warn({ err: exception, path: request.url }, 'dependency unavailable');
    }
    // RFC 9110: a 401 names the scheme the client should use.
    if (mapped.status === HttpStatus.UNAUTHORIZED) void reply.header('www-authenticate', 'Bearer realm="api"');
    // The onRequest hook sets the request id too, but Fastify's fallback 404 (an unknown method
    // on a path that is not UTF-8) runs no hooks.
    void reply
      .status(mapped.status)
      .header(REQUEST_ID_HEADER, String(request.id))
      .header('content-type', 'application/json; charset=utf-8')
      .send(errorBody(mapped.code, mapped.message, String(request.id), mapped.details));
    try {
      this.observer?.errorReplied(request, { status: mapped.status, code: mapped.code });
    } catch (error) {
      // The answer is sent: an observer's failure is logged, not turned into another answer.
      this.logger.error({ err: error, path: request.url }, 'error reply observer failed');
    }
  }

  private map(exception: unknown, request: FastifyRequest): Mapped {
    if (exception instanceof DomainError) {
      return {
        status: httpStatusOf(exception.code),
        code: exception.code,
        message: exception.message,
        details: exception.details,
      };
    }
    if (exception instanceof HttpException) return this.mapHttpException(exception, request);

    // Another library's client error: its status holds, its message may say anything.
    const status = (exception as { statusCode?: unknown } | null | undefined)?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return {
        status,
        code: CODE_BY_STATUS[status] ?? ErrorCode.MalformedRequest,
        message: `the request was refused: ${(STATUS_CODES[status] ?? 'client error').toLowerCase()}`,
      };
    }
    if (isUnavailableError(exception)) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        code: ErrorCode.DependencyUnavailable,
        message: 'a service this request needs is unavailable; try again shortly',
      };
    }
    return INTERNAL;
  }

  private mapHttpException(exception: HttpException, request: FastifyRequest): Mapped {
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (status === HttpStatus.SERVICE_UNAVAILABLE && typeof response === 'object' && 'error' in response) {
      // A failed readiness check: name what is down.
      const failing = Object.keys((response as { error?: Record<string, unknown> }).error ?? {});
      return {
        status,
        code: ErrorCode.NotReady,
        message: failing.length > 0 ? `not ready: ${failing.join(', ')} down` : 'not ready',
        details: response,
      };
    }
    if (status >= 500) return INTERNAL;
    if (
      status === HttpStatus.NOT_FOUND &&
      exception.constructor.name === 'NotFoundException' &&
      isRouteMiss(response)
    ) {
      return {
        status,
        code: ErrorCode.RouteNotFound,
        message: `no route for ${request.method} ${request.url.split('?')[0]}`,
      };
    }
    const message =
      typeof response === 'object' && response !== null && 'message' in response
        ? String((response as { message: unknown }).message)
        : exception.message;
    return {
      status,
      code: CODE_BY_STATUS[status] ?? `http_${status}`,
      message,
      details: DETAILS_BY_STATUS[status]?.(request),
    };
  }
}

function isRouteMiss(response: string | object): boolean {
  const message = typeof response === 'object' ? (response as { message?: unknown }).message : response;
  return typeof message === 'string' && message.startsWith('Cannot ');
}

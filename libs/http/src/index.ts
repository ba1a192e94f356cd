export { ERROR_DETAILS_RULE, ErrorBodyDto, ErrorResponseDto, FieldProblemDto } from './error-response.dto';
export { installCors } from './cors';
export { createFastifyAdapter } from './fastify-adapter';
export type { HttpServerOptions } from './fastify-adapter';
export { HttpExceptionFilter } from './http-exception.filter';
export { installSecurityHeaders } from './security-headers';
export type { PagePolicy } from './security-headers';
export { REQUEST_ID_HEADER, resolveRequestId } from './request-id';
export { RequestValidationPipe, fieldProblems } from './validation.pipe';

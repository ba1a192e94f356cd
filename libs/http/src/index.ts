export { ErrorBodyDto, ErrorResponseDto } from './error-response.dto';
export { createFastifyAdapter } from './fastify-adapter';
export type { HttpLimits } from './fastify-adapter';
export { replyWithError } from './error-reply';
export { HttpExceptionFilter } from './http-exception.filter';
export { REQUEST_ID_HEADER, resolveRequestId } from './request-id';
export { RequestValidationPipe, fieldProblems } from './validation.pipe';
export type { FieldProblem } from './input-problems';

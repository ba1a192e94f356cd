import { ApiProperty } from '@nestjs/swagger';

/** What every error's `details` holds: one rule, whatever raised the error. */
export const ERROR_DETAILS_RULE =
  'Always present. For `validation_failed`: a list of `{field, message}`, one per problem. For every other ' +
  'code: an object of named values about the error, `{}` when there is nothing to add (for example ' +
  '`{"id"}` for `not_found`, `{"status"}` for a 409, `{"max_bytes"}` for a 413, `{"supported"}` for a 415, ' +
  '`{"method", "allowed"}` for a 405).';

export class FieldProblemDto {
  @ApiProperty({ description: 'The field, query parameter or header, as a dotted path.', example: 'max_sources' })
  field: string;

  @ApiProperty({ example: 'max_sources must not be greater than 50' })
  message: string;
}

export class ErrorBodyDto {
  @ApiProperty({ description: 'Stable machine-readable code.', example: 'validation_failed' })
  code: string;

  @ApiProperty({ example: 'max_sources must not be greater than 50' })
  message: string;

  @ApiProperty({
    description: ERROR_DETAILS_RULE,
    oneOf: [
      {
        type: 'array',
        items: {
          type: 'object',
          required: ['field', 'message'],
          properties: { field: { type: 'string' }, message: { type: 'string' } },
        },
      },
      { type: 'object', additionalProperties: true },
    ],
    example: [{ field: 'max_sources', message: 'max_sources must not be greater than 50' }],
  })
  details: FieldProblemDto[] | Record<string, unknown>;
}

/** The one error shape of every endpoint. */
export class ErrorResponseDto {
  @ApiProperty({ type: ErrorBodyDto })
  error: ErrorBodyDto;

  @ApiProperty({
    description: 'The X-Request-Id of the request: quote it when reporting a problem.',
    example: 'b9e1c1d2-5a7f-4f3e-9a0c-2d6f7e8a9b10',
  })
  request_id: string;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ErrorBodyDto {
  @ApiProperty({ description: 'Stable machine-readable code.', example: 'validation_failed' })
  code: string;

  @ApiProperty({ example: 'max_sources must not be greater than 50' })
  message: string;

  @ApiPropertyOptional({
    description: 'Structured details: for validation errors, one entry per field.',
    oneOf: [
      { type: 'object', additionalProperties: true },
      { type: 'array', items: { type: 'object', additionalProperties: true } },
    ],
    example: [{ field: 'max_sources', message: 'max_sources must not be greater than 50' }],
  })
  details?: unknown;
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

import { IsSmallJsonObject, PageQueryDto, present } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsString, IsUrl, Length, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { DocumentEntity } from '../document.entity';

const METADATA_MAX_BYTES = 16 * 1024;

export const DOCUMENT_FORMATS = ['text', 'html'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

/** A document: its text, as plain text or Markdown, or as an HTML page (`format: "html"`). */
export class CreateDocumentRequestDto {
  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 500,
    description: "Required for text. For HTML, the page's own title is taken when this is absent.",
    example: '2024 AI accelerator market overview',
  })
  @ValidateIf(present)
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @Length(1, 500)
  @IsString()
  title?: string;

  @ApiProperty({
    description:
      'The document: plain text or Markdown, or with `format: "html"` an HTML page, whose readable text is ' +
      'extracted as pages fetched from the web are (Mozilla Readability: the article without navigation, ads ' +
      'or scripts) and stored as the text. DOCUMENT_MAX_BYTES limits the stored text (413 above).',
    example: 'NVIDIA held about 80% of the AI accelerator market in 2024.',
  })
  @MinLength(1)
  @IsString()
  text: string;

  @ApiPropertyOptional({
    enum: DOCUMENT_FORMATS,
    default: 'text',
    description: '`text` (plain text or Markdown, stored as sent) or `html` (a page, read for its text).',
  })
  @ValidateIf(present)
  @IsIn(DOCUMENT_FORMATS)
  format?: DocumentFormat;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    format: 'uri',
    maxLength: 2048,
    example: 'https://example.com/report',
  })
  @ValidateIf((_, value) => value !== undefined && value !== null)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @MaxLength(2048)
  @IsString()
  url?: string | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Free-form JSON object, at most 16 KiB.',
    example: { publisher: 'Example Research', year: 2024 },
  })
  @ValidateIf(present)
  // Kept exactly as parsed: class-transformer would copy it key by key and skip the keys that
  // name methods of a plain object (`toString`, `valueOf`...).
  @Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => obj[key])
  @IsSmallJsonObject(METADATA_MAX_BYTES)
  metadata?: Record<string, unknown>;
}

export class DocumentSummaryDto {
  @ApiProperty({ format: 'uuid' })
  document_id: string;

  @ApiProperty()
  title: string;

  @ApiProperty({ type: String, nullable: true })
  url: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true })
  metadata: Record<string, unknown>;

  @ApiProperty({ description: 'sha256 of the text; the same text is stored once.' })
  content_hash: string;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  static from(document: DocumentEntity): DocumentSummaryDto {
    return {
      document_id: document.id,
      title: document.title,
      url: document.url,
      metadata: document.metadata,
      content_hash: document.contentHash,
      created_at: document.createdAt.toISOString(),
    };
  }
}

export class DocumentResponseDto extends DocumentSummaryDto {
  @ApiProperty()
  text: string;

  static override from(document: DocumentEntity): DocumentResponseDto {
    return { ...DocumentSummaryDto.from(document), text: document.text };
  }
}

export class DocumentListResponseDto {
  @ApiProperty({ type: [DocumentSummaryDto] })
  items: DocumentSummaryDto[];

  @ApiProperty({ type: String, nullable: true })
  next_cursor: string | null;
}

export class ListDocumentsQueryDto extends PageQueryDto {}

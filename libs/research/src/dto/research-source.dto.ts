import { ApiProperty } from '@nestjs/swagger';
import { resultSource } from '../research-source';
import { StoredSourceSummary } from '../persistence/research.repository';
import { StoredSource } from '../research-runner';
import { ResearchSourceDto } from './research-result.dto';

/** A source of a research with where and how it was read, without its text. */
export class ResearchSourceSummaryDto extends ResearchSourceDto {
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Where the page was read, after redirects; null for a document of the corpus.',
  })
  final_url: string | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: "The page's HTTP status; null for a document.",
    example: 200,
  })
  http_status: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The media type the page was served as; null for a document.',
    example: 'text/html',
  })
  media_type: string | null;

  @ApiProperty({ description: 'Length of `text` in UTF-16 code units, the unit of finding offsets.', example: 5210 })
  length: number;

  static from(source: StoredSourceSummary): ResearchSourceSummaryDto {
    return {
      ...resultSource(source),
      final_url: source.finalUrl,
      http_status: source.httpStatus,
      media_type: source.mediaType,
      length: source.length,
    };
  }
}

/**
 * The snapshot of a source: the exact text the research read. A finding's quote is
 * `text.slice(start, end)` (JavaScript string offsets, UTF-16 code units).
 */
export class ResearchSourceSnapshotDto extends ResearchSourceSummaryDto {
  @ApiProperty({ description: 'The text as read: what the quotes of the research are checked against.' })
  text: string;

  static fromSnapshot(source: StoredSource): ResearchSourceSnapshotDto {
    return { ...ResearchSourceSummaryDto.from({ ...source, length: source.text.length }), text: source.text };
  }
}

export class ResearchSourceListResponseDto {
  @ApiProperty({ type: [ResearchSourceSummaryDto] })
  items: ResearchSourceSummaryDto[];
}

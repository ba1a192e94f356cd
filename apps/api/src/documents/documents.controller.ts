import { Audited } from '@app/audit';
import { RequireScopes, Scope } from '@app/auth';
import { ErrorResponseDto } from '@app/http';
import {
  CorpusService,
  CreateDocumentRequestDto,
  DocumentListResponseDto,
  DocumentResponseDto,
  DocumentSummaryDto,
  ListDocumentsQueryDto,
} from '@app/search';
import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiForbiddenResponse,
} from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { CurrentTenant } from '../http/current-tenant.decorator';
import { UuidParamPipe } from '../http/uuid-param.pipe';

export const DOCUMENTS_PATH = '/api/v1/documents';

@ApiTags('documents')
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The key lacks a scope this operation needs.' })
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'No API key, or one that is unknown, expired or revoked.',
})
@ApiBadRequestResponse({ type: ErrorResponseDto })
@Controller('api/v1/documents')
export class DocumentsController {
  constructor(private readonly corpus: CorpusService) {}

  @Post()
  @RequireScopes(Scope.DocumentsWrite)
  @Audited('document.create', 'document')
  @ApiOperation({
    summary: 'Add a document to the research corpus',
    description: 'The same text is stored once: adding it again answers 200 with the stored document.',
  })
  @ApiCreatedResponse({ type: DocumentSummaryDto })
  @ApiOkResponse({ type: DocumentSummaryDto, description: 'The same text was already stored.' })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto, description: 'The text is over DOCUMENT_MAX_BYTES.' })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description:
      'Code `text_processing_timeout`: segmenting the text took longer than TEXT_TASK_TIMEOUT_MS; nothing was stored. Try again later.',
  })
  async create(
    @Body() body: CreateDocumentRequestDto,
    @CurrentTenant() tenantId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DocumentSummaryDto> {
    const { document, created } = await this.corpus.add(tenantId, body);
    void reply
      .status(created ? HttpStatus.CREATED : HttpStatus.OK)
      .header('location', `${DOCUMENTS_PATH}/${document.id}`);
    return DocumentSummaryDto.from(document);
  }

  @Get()
  @RequireScopes(Scope.DocumentsRead)
  @Audited('document.list', 'document')
  @ApiOperation({ summary: 'List documents, newest first' })
  @ApiOkResponse({ type: DocumentListResponseDto })
  async list(
    @Query() query: ListDocumentsQueryDto,
    @CurrentTenant() tenantId: string,
  ): Promise<DocumentListResponseDto> {
    const page = await this.corpus.list(tenantId, query.limit, query.cursor);
    return { items: page.items.map((item) => DocumentSummaryDto.from(item)), next_cursor: page.nextCursor };
  }

  @Get(':id')
  @RequireScopes(Scope.DocumentsRead)
  @Audited('document.read', 'document')
  @ApiOperation({ summary: 'Get a document with its text' })
  @ApiOkResponse({ type: DocumentResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async get(@Param('id', UuidParamPipe) id: string, @CurrentTenant() tenantId: string): Promise<DocumentResponseDto> {
    return DocumentResponseDto.from(await this.corpus.get(tenantId, id));
  }

  @Delete(':id')
  @RequireScopes(Scope.DocumentsWrite)
  @Audited('document.delete', 'document')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Remove a document from the corpus' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async remove(@Param('id', UuidParamPipe) id: string, @CurrentTenant() tenantId: string): Promise<void> {
    await this.corpus.remove(tenantId, id);
  }
}

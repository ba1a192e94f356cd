import { Audited } from '@app/audit';
import {
  CreateResearchRequestDto,
  DeliveryService,
  ListResearchesQueryDto,
  ResearchDeliveryDto,
  ResearchDeliveryListResponseDto,
  EVENT_TYPES,
  ResearchAcceptedResponseDto,
  ResearchEventsService,
  StreamItem,
  ResearchListResponseDto,
  ResearchPlanResponseDto,
  ResearchResponseDto,
  ResearchService,
  ResearchSourceListResponseDto,
  ResearchSourceSnapshotDto,
  ResearchSourceSummaryDto,
  ResearchSummaryDto,
  ReviewPlanRequestDto,
} from '@app/research';
import { ErrorResponseDto } from '@app/http';
import { RequireScopes, Scope } from '@app/auth';
import { StreamingRoute, TrackRequest } from '@app/observability';
import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiQuery,
  ApiTags,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
  ApiUnauthorizedResponse,
  ApiForbiddenResponse,
} from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { PassThrough } from 'node:stream';
import { CurrentTenant } from '../http/current-tenant.decorator';
import { IdempotencyKey } from '../http/idempotency-key.decorator';
import { RequestId } from '../http/request-id.decorator';
import { SourceNumberPipe } from '../http/source-number.pipe';
import { UuidParamPipe } from '../http/uuid-param.pipe';

export const RESEARCH_PATH = '/api/v1/research';

@ApiTags('research')
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The key lacks a scope this operation needs.' })
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'No API key, or one that is unknown, expired or revoked.',
})
@ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid input; `details` names each field.' })
@Controller('api/v1/research')
export class ResearchController {
  constructor(
    private readonly research: ResearchService,
    private readonly events_: ResearchEventsService,
    private readonly deliveries: DeliveryService,
  ) {}

  @Post()
  @RequireScopes(Scope.ResearchWrite)
  @Audited('research.create', 'research')
  @TrackRequest(RESEARCH_PATH)
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Submit a research question',
    description:
      'Stores the research and queues it. Answers at once with `status: "pending"`; poll the `Location`. ' +
      'With an `Idempotency-Key`, repeating the request returns the same research.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Any unique string (1-255 visible ASCII characters). Reusing it with another body is a 422.',
  })
  @ApiAcceptedResponse({
    type: ResearchAcceptedResponseDto,
    description: 'Accepted; the `Location` header is the research URL.',
    headers: { Location: { description: 'URL of the research', schema: { type: 'string' } } },
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorResponseDto,
    description: 'The body is over the limit (64 KiB by default).',
  })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorResponseDto, description: 'The body is not `application/json`.' })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'The Idempotency-Key was used with another body.',
  })
  async create(
    @Body() body: CreateResearchRequestDto,
    @CurrentTenant() tenantId: string,
    @RequestId() requestId: string,
    @IdempotencyKey() idempotencyKey: string | null,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResearchAcceptedResponseDto> {
    const { research, replayed } = await this.research.create({
      tenantId,
      question: body.question,
      params: { maxSources: body.max_sources, verify: body.verify, language: body.language },
      depth: body.depth,
      reviewPlan: body.review_plan,
      budget: body.budget && {
        tokens: body.budget.max_tokens,
        costUsd: body.budget.max_cost_usd,
        llmCalls: body.budget.max_llm_calls,
        seconds: body.budget.max_seconds,
      },
      sources: body.sources,
      callbackUrl: body.callback_url,
      requestId,
      idempotencyKey,
    });
    void reply.header('location', `${RESEARCH_PATH}/${research.id}`);
    if (replayed) void reply.header('idempotent-replayed', 'true');
    return ResearchAcceptedResponseDto.from(research);
  }

  @Get()
  @RequireScopes(Scope.ResearchRead)
  @Audited('research.list', 'research')
  @ApiOperation({
    summary: 'List researches, newest first',
    description: 'Cursor pagination: pass `next_cursor` as `cursor`.',
  })
  @ApiOkResponse({ type: ResearchListResponseDto })
  async list(
    @Query() query: ListResearchesQueryDto,
    @CurrentTenant() tenantId: string,
  ): Promise<ResearchListResponseDto> {
    const page = await this.research.list({ tenantId, limit: query.limit, cursor: query.cursor, status: query.status });
    return { items: page.items.map((item) => ResearchSummaryDto.from(item)), next_cursor: page.nextCursor };
  }

  @Get(':id')
  @RequireScopes(Scope.ResearchRead)
  @Audited('research.read', 'research')
  @ApiOperation({ summary: 'Get a research: its status and, when completed, its result' })
  @ApiOkResponse({ type: ResearchResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async get(@Param('id', UuidParamPipe) id: string, @CurrentTenant() tenantId: string): Promise<ResearchResponseDto> {
    return ResearchResponseDto.from(await this.research.get(tenantId, id));
  }

  @Get(':id/sources')
  @RequireScopes(Scope.ResearchRead)
  @Audited('research.sources.list', 'research')
  @ApiOperation({
    summary: 'List the sources a research read',
    description:
      'Each source as stored with the research when it was read: where it came from, where a page was read ' +
      'after redirects, its HTTP status, media type, content hash and length. The text is at `/sources/{n}`.',
  })
  @ApiOkResponse({ type: ResearchSourceListResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async listSources(
    @Param('id', UuidParamPipe) id: string,
    @CurrentTenant() tenantId: string,
  ): Promise<ResearchSourceListResponseDto> {
    const sources = await this.research.listSources(tenantId, id);
    return { items: sources.map((source) => ResearchSourceSummaryDto.from(source)) };
  }

  @Get(':id/sources/:n')
  @RequireScopes(Scope.ResearchRead)
  @Audited('research.sources.read', 'research')
  @ApiOperation({
    summary: "Get a source's snapshot: the exact text the research read",
    description:
      'Every finding of the research that cites source `n` has `quote === text.slice(start, end)`, in ' +
      'JavaScript string offsets (UTF-16 code units), whatever happened to the document or the page since.',
  })
  @ApiOkResponse({ type: ResearchSourceSnapshotDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such research, or it has no source `n`.' })
  async getSource(
    @Param('id', UuidParamPipe) id: string,
    @Param('n', SourceNumberPipe) n: number,
    @CurrentTenant() tenantId: string,
  ): Promise<ResearchSourceSnapshotDto> {
    return ResearchSourceSnapshotDto.fromSnapshot(await this.research.getSource(tenantId, id, n));
  }

  @Get(':id/events')
  @RequireScopes(Scope.ResearchRead)
  @Audited('research.events.read', 'research')
  @StreamingRoute()
  @ApiOperation({
    summary: "Follow a research's events as Server-Sent Events",
    description:
      "A `text/event-stream` of the research's events as they happen, across api replicas: each has `id` (the " +
      `per-research sequence number), \`event\` (its type: ${EVENT_TYPES.map((t) => `\`${t}\``).join(', ')}) ` +
      'and `data`, a JSON object with `seq`, `type`, ' +
      "`created_at` and the event's own `data`. Everything after `Last-Event-ID` (the header an EventSource " +
      'sends when it reconnects, or the `last_event_id` query parameter) is sent first. A comment line is sent ' +
      'every 15 s of silence to keep proxies from closing the connection. The stream ends after the terminal ' +
      'event (`research.completed`, `research.failed` or `research.cancelled`), or at once when the research ' +
      'has already ended and the client has every event.',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'The event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event the client has.' })
  @ApiQuery({ name: 'last_event_id', required: false, type: Number, description: 'As `Last-Event-ID`, for browsers.' })
  async events(
    @Param('id', UuidParamPipe) id: string,
    @CurrentTenant() tenantId: string,
    @Headers('last-event-id') header: string | undefined,
    @Query('last_event_id') query: unknown,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const after =
      header !== undefined
        ? this.events_.lastEventId(header, 'Last-Event-ID')
        : this.events_.lastEventId(query, 'last_event_id');
    await this.research.get(tenantId, id);
    const stream = new PassThrough();
    const closed = new AbortController();
    request.raw.once('close', () => closed.abort());
    void reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache, no-transform')
      .header('x-accel-buffering', 'no')
      .send(stream);
    void writeEvents(stream, this.events_.follow(tenantId, id, after, closed.signal));
  }

  @Get(':id/deliveries')
  @RequireScopes(Scope.ResearchRead)
  @Audited('research.deliveries.list', 'research')
  @ApiOperation({
    summary: "List a research's webhook deliveries and every attempt of each",
    description:
      'One delivery when the research ended with a `callback_url`, and one more for each redelivery asked for. ' +
      'Each attempt has its time, outcome, HTTP status, duration and error. An empty list when nothing was delivered.',
  })
  @ApiOkResponse({ type: ResearchDeliveryListResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async listDeliveries(
    @Param('id', UuidParamPipe) id: string,
    @CurrentTenant() tenantId: string,
  ): Promise<ResearchDeliveryListResponseDto> {
    const deliveries = await this.deliveries.list(tenantId, id);
    return { items: deliveries.map((delivery) => ResearchDeliveryDto.from(delivery)) };
  }

  @Post(':id/deliveries/redeliver')
  @RequireScopes(Scope.ResearchWrite)
  @Audited('research.deliveries.redeliver', 'research')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: "Deliver a research's terminal result to its callback_url again",
    description:
      'A new delivery, with its own id and attempts and the usual retries, of the research as it is now. For a ' +
      'receiver that lost a delivery or was down longer than `WEBHOOK_RETRY_SECONDS`.',
  })
  @ApiAcceptedResponse({ type: ResearchDeliveryDto, description: 'Queued; follow it at `/deliveries`.' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'The research has not ended, or has no `callback_url` (`research_not_redeliverable`); `details` says which.',
  })
  async redeliver(
    @Param('id', UuidParamPipe) id: string,
    @CurrentTenant() tenantId: string,
  ): Promise<ResearchDeliveryDto> {
    return ResearchDeliveryDto.from(await this.deliveries.redeliver(tenantId, id));
  }

  @Post(':id/cancel')
  @RequireScopes(Scope.ResearchWrite)
  @Audited('research.cancel', 'research')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Cancel a pending, running or awaiting-review research',
    description:
      'A running research stops at its next step. Cancelling a cancelled research again returns it unchanged.',
  })
  @ApiOkResponse({ type: ResearchResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'The research is already completed or failed; `details.status` says which.',
  })
  async cancel(
    @Param('id', UuidParamPipe) id: string,
    @CurrentTenant() tenantId: string,
  ): Promise<ResearchResponseDto> {
    return ResearchResponseDto.from(await this.research.cancel(tenantId, id));
  }

  @Post(':id/retry')
  @RequireScopes(Scope.ResearchWrite)
  @Audited('research.retry', 'research')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Run a failed research again',
    description:
      'Puts a `failed` research back to `pending` and queues it. It resumes from its checkpoints: the plan, ' +
      'the sources and every source already read are kept, and are not paid for again. Its earlier runs and ' +
      'the time it spent failed are not charged to its budgets. Poll the research as after a submission.',
  })
  @ApiAcceptedResponse({
    type: ResearchResponseDto,
    description: 'Queued again, `status: "pending"`; the `Location` header is the research URL.',
    headers: { Location: { description: 'URL of the research', schema: { type: 'string' } } },
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'The research is not failed (`research_not_retryable`); `details.status` says what it is.',
  })
  async retry(
    @Param('id', UuidParamPipe) id: string,
    @CurrentTenant() tenantId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResearchResponseDto> {
    const research = await this.research.retry(tenantId, id);
    void reply.header('location', `${RESEARCH_PATH}/${research.id}`);
    return ResearchResponseDto.from(research);
  }

  @Get(':id/plan')
  @RequireScopes(Scope.ResearchRead)
  @Audited('research.plan.read', 'research')
  @ApiOperation({
    summary: "Get a research's plan: what it searches, or will search once reviewed",
    description:
      'The sub-questions and queries of the research, in the shape `POST …/plan` takes. While the research is ' +
      '`awaiting_review` this is the plan to review; once reviewed, the plan it searches (`reviewed: true`). When ' +
      'planning failed, the plan shown for review is the question itself (`fallback: true`).',
  })
  @ApiOkResponse({ type: ResearchPlanResponseDto })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such research, or it has no plan: not planned yet, or run by the extractive engine.',
  })
  async getPlan(
    @Param('id', UuidParamPipe) id: string,
    @CurrentTenant() tenantId: string,
  ): Promise<ResearchPlanResponseDto> {
    return ResearchPlanResponseDto.from(await this.research.getPlan(tenantId, id));
  }

  @Post(':id/plan')
  @RequireScopes(Scope.ResearchWrite)
  @Audited('research.plan.review', 'research')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Review the plan of a research awaiting review, and let it continue',
    description:
      'For a research submitted with `review_plan: true`, once it is `awaiting_review` (the plan is in its ' +
      '`plan.awaiting_review` event). Without a body, or with `{}`, the plan is accepted as it was made; with ' +
      '`sub_questions` that plan is searched instead. The research goes back to `pending` and is queued; its next ' +
      'run searches the plan without planning again, and the time it waited for the review is not charged to its ' +
      'time budget. The event `plan.reviewed` says whether the plan was edited.',
  })
  @ApiAcceptedResponse({
    type: ResearchResponseDto,
    description: 'Queued again, `status: "pending"`; the `Location` header is the research URL.',
    headers: { Location: { description: 'URL of the research', schema: { type: 'string' } } },
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'The research is not awaiting review (`research_not_awaiting_review`); `details.status` says what it is.',
  })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto, description: 'The body is over the limit.' })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorResponseDto, description: 'The body is not `application/json`.' })
  async reviewPlan(
    @Param('id', UuidParamPipe) id: string,
    @Body() body: ReviewPlanRequestDto,
    @CurrentTenant() tenantId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResearchResponseDto> {
    const research = await this.research.reviewPlan(tenantId, id, ReviewPlanRequestDto.planOf(body));
    void reply.header('location', `${RESEARCH_PATH}/${research.id}`);
    return ResearchResponseDto.from(research);
  }
}

/**
 * Writes a research's events as Server-Sent Events: `retry` first, then each event with its
 * sequence number as `id` and its type as `event`, and a comment for each keep-alive; waits for
 * the client to drain a full buffer; ends the response when the events end or fail.
 */
async function writeEvents(stream: PassThrough, items: AsyncGenerator<StreamItem>): Promise<void> {
  const write = async (text: string) => {
    if (!stream.write(text)) await new Promise((resolve) => stream.once('drain', resolve));
  };
  try {
    await write('retry: 2000\n\n');
    for await (const item of items) {
      if ('keepAlive' in item) {
        await write(': keep-alive\n\n');
        continue;
      }
      const { seq, type, data, createdAt } = item.event;
      const payload = JSON.stringify({ seq, type, created_at: createdAt.toISOString(), data });
      await write(`id: ${seq}\nevent: ${type}\ndata: ${payload}\n\n`);
    }
  } catch {
    // The client went away, or the database did: the client reconnects with Last-Event-ID.
  } finally {
    stream.end();
  }
}

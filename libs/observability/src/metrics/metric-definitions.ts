import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { Provider } from '@nestjs/common';

/** Metric names, in one place; docs/metrics.md describes each. */
export const Metric = {
  Requests: 'research_requests_total',
  RequestDuration: 'research_request_duration_seconds',
  ActiveRequests: 'research_active_requests',
  Submitted: 'research_submitted_total',
  EventStreams: 'research_event_streams',
  EventsSent: 'research_events_sent_total',
  Runs: 'research_runs_total',
  RunDuration: 'research_run_duration_seconds',
  ActiveTasks: 'research_active_tasks',
  Tasks: 'research_tasks_total',
  TaskDuration: 'research_task_duration_seconds',
  QueueJobs: 'research_queue_jobs',
  AwaitingReview: 'research_awaiting_review',
  Requeued: 'research_reconciler_requeued_total',
  LlmCalls: 'llm_calls_total',
  LlmCallDuration: 'llm_call_duration_seconds',
  LlmTokens: 'llm_tokens_total',
  LlmCost: 'llm_cost_usd_total',
  LlmRetries: 'llm_retries_total',
  LlmSlotWait: 'llm_concurrency_wait_seconds',
  StageTokens: 'research_stage_tokens_total',
  FindingsDropped: 'research_findings_dropped_total',
  Claims: 'research_claims_total',
  BudgetExhausted: 'research_budget_exhausted_total',
  CacheHits: 'research_cache_hits_total',
  CacheMisses: 'research_cache_misses_total',
  CacheSize: 'research_cache_size',
  LlmCircuitOpen: 'llm_circuit_open',
  LlmOutage: 'llm_outage_seconds',
  IntakePaused: 'research_intake_paused',
  WebFetches: 'web_fetches_total',
  WebFetchDuration: 'web_fetch_duration_seconds',
  SearchRequests: 'search_requests_total',
  SearchRequestDuration: 'search_request_duration_seconds',
  WebhookAttempts: 'research_webhook_attempts_total',
  WebhookDeliveries: 'research_webhook_deliveries_total',
  WebhookAttemptDuration: 'research_webhook_attempt_duration_seconds',
  WebhookDeliveryLatency: 'research_webhook_delivery_latency_seconds',
} as const;

/** The api's HTTP metrics. */
export const API_METRICS: Provider[] = [
  makeCounterProvider({
    name: Metric.Requests,
    help: 'HTTP requests by method, route template, outcome (success < 400 <= error) and status class.',
    labelNames: ['method', 'endpoint', 'status', 'code'],
  }),
  makeHistogramProvider({
    name: Metric.RequestDuration,
    help: 'HTTP request latency in seconds by method and route template.',
    labelNames: ['method', 'endpoint'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
  }),
  makeGaugeProvider({ name: Metric.ActiveRequests, help: 'HTTP requests in flight.' }),
  makeCounterProvider({
    name: Metric.Submitted,
    help: 'Research submissions: accepted, replayed (same Idempotency-Key) or enqueue_deferred (queue unreachable).',
    labelNames: ['outcome'],
  }),
  makeGaugeProvider({ name: Metric.EventStreams, help: 'Server-Sent Event streams of research events open.' }),
  makeCounterProvider({ name: Metric.EventsSent, help: 'Research events sent on Server-Sent Event streams.' }),
];

/** The worker's research, agent, LLM and cache metrics. */
export const WORKER_METRICS: Provider[] = [
  makeCounterProvider({
    name: Metric.Runs,
    help: 'Research runs by engine and outcome.',
    labelNames: ['engine', 'outcome'],
  }),
  makeHistogramProvider({
    name: Metric.RunDuration,
    help: 'Research run wall time in seconds by engine and outcome.',
    labelNames: ['engine', 'outcome'],
    buckets: [0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
  }),
  makeGaugeProvider({ name: Metric.ActiveTasks, help: 'Researches running in this worker.' }),
  makeCounterProvider({
    name: Metric.Tasks,
    help: 'Agent steps by agent and outcome (success, error, stopped).',
    labelNames: ['agent', 'outcome'],
  }),
  makeHistogramProvider({
    name: Metric.TaskDuration,
    help: 'Agent step time in seconds by agent and outcome.',
    labelNames: ['agent', 'outcome'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
  }),
  makeCounterProvider({
    name: Metric.Requeued,
    help: 'Researches the reconciler put back on the queue, by the status they were in.',
    labelNames: ['status'],
  }),
  makeCounterProvider({
    name: Metric.LlmCalls,
    help: 'LLM calls by model and status.',
    labelNames: ['model', 'status'],
  }),
  makeHistogramProvider({
    name: Metric.LlmCallDuration,
    help: 'LLM call latency in seconds by model.',
    labelNames: ['model'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
  }),
  makeCounterProvider({
    name: Metric.LlmTokens,
    help: 'LLM tokens by model and type (prompt, completion).',
    labelNames: ['model', 'type'],
  }),
  makeCounterProvider({ name: Metric.LlmCost, help: 'Estimated LLM spend in USD by model.', labelNames: ['model'] }),
  makeCounterProvider({
    name: Metric.LlmRetries,
    help: 'LLM calls made again, by model and reason (rate_limited, server_error, timeout, invalid_output).',
    labelNames: ['model', 'reason'],
  }),
  makeHistogramProvider({
    name: Metric.LlmSlotWait,
    help: "Seconds an LLM call waited for a slot of the endpoint's shared concurrency limit.",
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
  }),
  makeCounterProvider({
    name: Metric.StageTokens,
    help: 'LLM tokens by research stage and type (prompt, completion).',
    labelNames: ['stage', 'type'],
  }),
  makeCounterProvider({
    name: Metric.FindingsDropped,
    help:
      'Findings dropped because their quote is not in the source (quote_not_found), their source is unknown, ' +
      'or their quote or note is addressed to a model (instruction).',
    labelNames: ['reason'],
  }),
  makeCounterProvider({
    name: Metric.Claims,
    help:
      'Report sentences by their final label (supported, partially_supported, unsupported, contradicted, unverified, ' +
      'synthesis).',
    labelNames: ['label'],
  }),
  makeCounterProvider({
    name: Metric.BudgetExhausted,
    help: 'Researches that ran out of a budget (tokens, cost, llm_calls, time) and reported partially.',
    labelNames: ['budget'],
  }),
  makeCounterProvider({
    name: Metric.WebFetches,
    help: 'URLs fetched by the guarded fetcher, by outcome: fetched, or why not (blocked_address, robots, too_large, timeout...).',
    labelNames: ['outcome'],
  }),
  makeHistogramProvider({
    name: Metric.WebFetchDuration,
    help: 'Seconds a fetch took, redirects and robots.txt included, whatever its outcome.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30],
  }),
  makeCounterProvider({
    name: Metric.SearchRequests,
    help: 'Web search engine calls by provider and outcome: ok, rate_limited, server_error, rejected, timeout, network, bad_response, cancelled.',
    labelNames: ['provider', 'outcome'],
  }),
  makeHistogramProvider({
    name: Metric.SearchRequestDuration,
    help: 'Seconds a web search took by provider, its retries included.',
    labelNames: ['provider'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  }),
  makeCounterProvider({
    name: Metric.WebhookAttempts,
    help: 'Webhook delivery attempts by outcome: delivered (2xx), http_status, timeout, network, blocked_address, bad_url.',
    labelNames: ['outcome'],
  }),
  makeCounterProvider({
    name: Metric.WebhookDeliveries,
    help: 'Webhook deliveries that ended, by outcome: delivered, or failed once retries ran out (WEBHOOK_RETRY_SECONDS).',
    labelNames: ['outcome'],
  }),
  makeHistogramProvider({
    name: Metric.WebhookAttemptDuration,
    help: 'Seconds one webhook attempt took, by outcome.',
    labelNames: ['outcome'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  }),
  makeHistogramProvider({
    name: Metric.WebhookDeliveryLatency,
    help: 'Seconds from the end of a research (or a redelivery request) to its webhook being delivered, retries included.',
    buckets: [0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400],
  }),
  makeCounterProvider({ name: Metric.CacheHits, help: 'Cache hits by cache.', labelNames: ['cache'] }),
  makeCounterProvider({ name: Metric.CacheMisses, help: 'Cache misses by cache.', labelNames: ['cache'] }),
  makeGaugeProvider({ name: Metric.CacheSize, help: 'Entries in a cache.', labelNames: ['cache'] }),
  makeGaugeProvider({
    name: Metric.LlmCircuitOpen,
    help: "1 while the LLM endpoint's circuit breaker is open (work held, endpoint probed), else 0.",
    labelNames: ['endpoint'],
  }),
  makeGaugeProvider({
    name: Metric.LlmOutage,
    help: 'How long the current outage of the LLM endpoint has lasted, in seconds; 0 when it answers.',
    labelNames: ['endpoint'],
  }),
  makeGaugeProvider({
    name: Metric.IntakePaused,
    help: '1 while this worker takes no new research, by reason (llm_unavailable, shutdown).',
    labelNames: ['reason'],
  }),
];

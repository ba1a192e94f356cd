export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** USD per million tokens. */
export interface ModelPrice {
  prompt: number;
  completion: number;
}

/** An OpenAI-compatible endpoint: OpenAI, vLLM or Ollama serving Qwen, Azure... */
export interface LlmSettings {
  baseUrl: string;
  apiKey: string;
  /** The model of every stage without one of its own. */
  model: string;
  /** Stage name (planner, reader, writer, verifier) to model. */
  stageModels: Readonly<Record<string, string>>;
  timeoutMs: number;
  maxRetries: number;
  /** Calls in flight to this endpoint across every worker. */
  maxConcurrency: number;
  prices: Readonly<Record<string, ModelPrice>>;
  /** How long identical LLM requests are answered from the Redis cache; 0 turns it off. */
  cacheTtlSeconds: number;
  circuit: LlmCircuitSettings;
}

/**
 * The circuit breaker of an endpoint, shared by every worker: after `failures` failed calls in a
 * row it opens, workers stop taking researches, and one of them probes the endpoint, first after
 * `cooldownMs`, then twice as long after each failed probe up to `maxCooldownMs`. An outage longer
 * than `outageMaxMs` stops holding work: researches then fail with a readable reason.
 */
export interface LlmCircuitSettings {
  failures: number;
  cooldownMs: number;
  maxCooldownMs: number;
  outageMaxMs: number;
}

/** How the api authenticates callers. */
export interface AuthSettings {
  /**
   * Whether every call needs an API key. When not, a call without one acts as the default
   * tenant (development), and a call with one is still checked.
   */
  required: boolean;
  /** How long a verified key is remembered in process; a revocation takes up to this long to bite. */
  keyCacheTtlMs: number;
}

/**
 * Requests a caller may make per window: per key, or per client IP without a key; counted in
 * Redis so the limits hold across api replicas. Writes are everything but GET and HEAD.
 */
export interface RateLimitSettings {
  enabled: boolean;
  windowMs: number;
  reads: number;
  writes: number;
  /** How often a replica sends the hits it counted to Redis, where the other replicas see them. */
  syncMs: number;
}

/**
 * The audit trail. Changes are recorded in their own transaction; reads, failures and refusals
 * go through a writer that batches them.
 */
export interface AuditSettings {
  /** Whether reads of researches and documents are recorded. */
  reads: boolean;
  /** Longest a batched record waits in memory before it is written. */
  flushMs: number;
  /** Most records written at once. */
  batchSize: number;
  /** Records kept in memory while PostgreSQL does not take them; beyond, they are logged and dropped. */
  maxBuffered: number;
  /** Window within which repeated refusals of one caller make one record after the first; 0: one record each. */
  deniedWindowMs: number;
}

export type SearchProviderName = 'corpus' | 'searxng' | 'tavily' | 'brave';

/** Where researches look for sources, in order, and how web search engines are reached. */
export interface SearchSettings {
  /** `SEARCH_PROVIDERS`: the corpus and web engines a research may use, in this order. */
  providers: readonly SearchProviderName[];
  searxngUrl: string | null;
  tavily: { baseUrl: string; apiKey: string } | null;
  brave: { baseUrl: string; apiKey: string } | null;
  /** For one try of a web engine. */
  timeoutMs: number;
  /** Tries after the first, for 429, 5xx, timeouts and network errors. */
  retries: number;
  /** `SEARCH_CACHE_TTL_SECONDS`: how long a web engine's results are reused for the same query; 0: not cached. */
  cacheTtlSeconds: number;
  /** `PAGE_CACHE_TTL_SECONDS`: how long a page read is kept for other researches; 0: not cached. */
  pageCacheTtlSeconds: number;
  /** `PAGE_CACHE_FRESH_SECONDS`: how long a kept page is used as is; after, it is revalidated with its server. */
  pageCacheFreshSeconds: number;
}

/** How long texts are read: in passages of whole sentences, the most relevant first. */
export interface PassageSettings {
  /** `PASSAGE_SIZE`: most characters in a passage. */
  size: number;
  /** `PASSAGE_OVERLAP`: most characters a passage repeats from the one before. */
  overlap: number;
  /** `READER_CONTEXT_TOKENS`: the most a reader of one source is given, in estimated tokens. */
  readerTokens: number;
}

/** The fetcher of URLs the service did not choose itself (search results, pages, webhooks). */
export interface FetchSettings {
  /** Host names, addresses and CIDR networks the address guard lets through (`FETCH_ALLOWED_HOSTS`). */
  allowedHosts: readonly string[];
  /** Sent with every request; its product token (before the first `/`) is the robots.txt user agent. */
  userAgent: string;
  respectRobots: boolean;
  connectTimeoutMs: number;
  /** For the whole fetch, redirects included. */
  timeoutMs: number;
  /** Of the body as sent. */
  maxBytes: number;
  /** Of the body once decompressed. */
  maxDecodedBytes: number;
  maxRedirects: number;
  /** How long a site's robots.txt is trusted. */
  robotsTtlMs: number;
}

export interface WebhookSettings {
  /** Host names, addresses and CIDR networks callback URLs may reach although private (`WEBHOOK_ALLOWED_HOSTS`). */
  allowedHosts: readonly string[];
  /** How long after a research ends its delivery is still tried. */
  retryMs: number;
  /** The wait before the first retry; each next one waits twice as long. */
  backoffMs: number;
  /** For one delivery attempt, connection included. */
  timeoutMs: number;
}

/**
 * Which proxies in front of the api are trusted to say who the client is (X-Forwarded-For): none,
 * all, the nearest `n`, or those at these addresses and CIDR ranges. Fastify's `trustProxy`.
 */
export type TrustProxy = boolean | number | readonly string[];

export interface BudgetLimits {
  tokens: number;
  costUsd: number;
  llmCalls: number;
  seconds: number;
}

/** The whole configuration, typed and validated once at start-up. Also the DI token. */
export class AppConfig {
  readonly nodeEnv: NodeEnv;
  readonly host: string;
  readonly port: number;
  readonly workerPort: number;
  readonly databaseUrl: string;
  readonly dbPoolSize: number;
  /**
   * How long a connection the pool no longer needs stays open; 0: until the process ends. Opening
   * connections again when traffic picks up stalls its first requests for 100-200 ms.
   */
  readonly dbPoolIdleTimeoutMs: number;
  readonly dbStatementTimeoutMs: number;
  readonly redisUrl: string;
  readonly logLevel: LogLevel;
  readonly queuePrefix: string;
  readonly queueConcurrency: number;
  /** Researches one tenant may have running at once; the rest wait in the queue. 0: no cap. */
  readonly tenantMaxRunning: number;
  readonly queueLockMs: number;
  readonly researchAttempts: number;
  readonly researchBackoffMs: number;
  readonly researchLeaseMs: number;
  readonly reconcileIntervalMs: number;
  readonly reconcileGraceMs: number;
  /** `PLAN_REVIEW_TIMEOUT_SECONDS`: how long a research waits for its plan review before it is cancelled. */
  readonly planReviewTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly shutdownReadyDelayMs: number;
  /** Silence after which an event stream sends a keep-alive comment. */
  readonly eventsKeepAliveMs: number;
  readonly httpBodyLimitBytes: number;
  /** Time a request body has to arrive whole, from the end of its headers; then a 408. */
  readonly httpBodyTimeoutMs: number;
  /** Time a request's headers have to arrive whole; then a 408. */
  readonly httpHeadersTimeoutMs: number;
  readonly documentMaxBytes: number;
  /** Worker threads for text work (indexing, sentence scans) in each process. */
  readonly textWorkerThreads: number;
  /** Longest one text task may run before it is stopped and its caller gets an error. */
  readonly textTaskTimeoutMs: number;
  readonly docsEnabled: boolean;
  readonly queueDashboardEnabled: boolean;
  /**
   * `API_CONCURRENT_MARKING`: whether V8 marks the api's heap on background threads while its
   * requests run (V8's default), rather than in steps on the event loop between them.
   */
  readonly apiConcurrentMarking: boolean;
  /**
   * `API_PRETENURING`: whether V8 may allocate the objects of an allocation site it has seen
   * survive straight into the api's old generation (V8's default), rather than always in the
   * young generation.
   */
  readonly apiPretenuring: boolean;
  readonly auth: AuthSettings;
  readonly rateLimit: RateLimitSettings;
  readonly audit: AuditSettings;
  readonly fetch: FetchSettings;
  readonly webhooks: WebhookSettings;
  readonly search: SearchSettings;
  /** Origins whose browser pages may call the api; empty: no CORS at all; `['*']`: any origin. */
  readonly corsOrigins: readonly string[];
  readonly trustProxy: TrustProxy;
  /** Null when no LLM is configured: the extractive engine runs then. */
  readonly llm: LlmSettings | null;
  /** Budgets a research gets unless its request asks for less or more... */
  readonly budgetDefaults: BudgetLimits;
  /** ...within these. */
  readonly budgetMaxima: BudgetLimits;
  /** Fewer sources with findings than this, and the report says the evidence is insufficient. */
  readonly evidenceMinSources: number;
  /** Search-and-read rounds of the deep engine: a research's unless it asks for another, and the most it may. */
  readonly depth: { readonly default: number; readonly max: number };
  readonly passages: PassageSettings;
}

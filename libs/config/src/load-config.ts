import { isIP } from 'node:net';
import {
  AppConfig,
  AuthSettings,
  BudgetLimits,
  FetchSettings,
  WebhookSettings,
  SearchProviderName,
  PassageSettings,
  SearchSettings,
  LlmCircuitSettings,
  LlmSettings,
  LogLevel,
  ModelPrice,
  NodeEnv,
  TrustProxy,
} from './app-config';
import { placeholderProblems } from './placeholder-secrets';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * One variable as the schema reads it: what it accepts and its default. `loadConfig` reports each
 * read to its `onRead` callback, from which scripts/generate-config-reference.mjs writes the
 * configuration reference of docs/deployment.md.
 */
export interface SettingRead {
  name: string;
  kind: 'integer' | 'number' | 'boolean' | 'choice' | 'url' | 'text' | 'pairs';
  /** Undefined: no default (unset, or required where a URL has none). */
  fallback?: string | number | boolean;
  min?: number;
  max?: number;
  /** The values of a choice, or the schemes of a URL. */
  allowed?: readonly string[];
  /** What a text or pairs value must look like, in words. */
  rule?: string;
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NODE_ENVS: readonly NodeEnv[] = ['development', 'production', 'test'];

/** Reads one variable at a time and collects every problem, so one start-up shows them all. */
class EnvReader {
  readonly problems: string[] = [];

  constructor(
    private readonly env: Env,
    private readonly onRead: (read: SettingRead) => void = () => undefined,
  ) {}

  private value(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  /** A value checked by the caller; unset by default. */
  raw(name: string): string | undefined {
    this.onRead({ name, kind: 'text' });
    return this.value(name);
  }

  /** A value checked by the caller, with its default. */
  text(name: string, fallback: string): string {
    this.onRead({ name, kind: 'text', fallback });
    return this.value(name) ?? fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    this.onRead({ name, kind: 'choice', fallback, allowed });
    const value = this.value(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')}; got "${value}"`);
    return fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    this.onRead({ name, kind: 'integer', fallback, min, max });
    const value = this.value(name);
    if (value === undefined) return fallback;
    const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (Number.isSafeInteger(parsed) && parsed >= min && parsed <= max) return parsed;
    this.problems.push(`${name} must be an integer from ${min} to ${max}; got "${value}"`);
    return fallback;
  }

  bool(name: string, fallback: boolean): boolean {
    this.onRead({ name, kind: 'boolean', fallback });
    const value = this.value(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['true', '1', 'yes'].includes(value)) return true;
    if (['false', '0', 'no'].includes(value)) return false;
    this.problems.push(`${name} must be true or false; got "${value}"`);
    return fallback;
  }

  url(name: string, protocols: readonly string[], fallback: string | undefined, example: string): string {
    this.onRead({ name, kind: 'url', fallback, allowed: protocols });
    const value = this.value(name) ?? fallback;
    if (value === undefined) {
      this.problems.push(`${name} is required, e.g. ${example}`);
      return '';
    }
    let protocol: string;
    try {
      protocol = new URL(value).protocol.replace(/:$/, '');
    } catch {
      this.problems.push(`${name} must be a URL like ${example}; got "${redactUrl(value)}"`);
      return '';
    }
    if (!protocols.includes(protocol)) {
      this.problems.push(`${name} must use ${protocols.map((p) => `${p}://`).join(' or ')}; got "${protocol}://"`);
    }
    return value;
  }

  decimal(name: string, fallback: number, min: number, max: number): number {
    this.onRead({ name, kind: 'number', fallback, min, max });
    const value = this.value(name);
    if (value === undefined) return fallback;
    const parsed = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
    if (Number.isFinite(parsed) && parsed >= min && parsed <= max) return parsed;
    this.problems.push(`${name} must be a number from ${min} to ${max}; got "${value}"`);
    return fallback;
  }

  /** `key=value,key=value` pairs, each value checked by `parse`. */
  pairs<T>(name: string, parse: (value: string) => T | undefined, rule: string): Record<string, T> {
    this.onRead({ name, kind: 'pairs', rule });
    const value = this.value(name);
    const result: Record<string, T> = {};
    if (value === undefined) return result;
    for (const pair of value
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [key, raw, ...rest] = pair.split('=').map((p) => p.trim());
      const parsed = raw === undefined || rest.length > 0 || !key ? undefined : parse(raw);
      if (parsed === undefined) {
        this.problems.push(`${name} must be ${rule}; "${pair}" is not`);
        continue;
      }
      result[key as string] = parsed;
    }
    return result;
  }

  string(name: string, fallback: string, pattern: RegExp, rule: string): string {
    this.onRead({ name, kind: 'text', fallback, rule });
    const value = this.value(name) ?? fallback;
    if (pattern.test(value)) return value;
    this.problems.push(`${name} ${rule}; got "${value}"`);
    return fallback;
  }
}

function redactUrl(value: string): string {
  return value.replace(/\/\/([^@/]*)@/, '//***@');
}

/**
 * Every variable name the configuration looks up, found by loading it from an environment that
 * records each lookup: what .env.example, the manifests and the Compose file are checked against.
 */
export function variablesRead(): Set<string> {
  const names = new Set<string>();
  loadConfig(
    new Proxy<Record<string, string | undefined>>(
      {},
      {
        get: (_, name) => {
          names.add(String(name));
          return undefined;
        },
      },
    ),
  );
  return names;
}

/**
 * Builds the configuration from environment variables. In production the connection URLs are
 * required; elsewhere they default to the local PostgreSQL and Redis. `onRead` hears of every
 * variable read, with what it accepts.
 */
export function loadConfig(env: Env, onRead?: (read: SettingRead) => void): AppConfig {
  const read = new EnvReader(env, onRead);
  const nodeEnv = read.oneOf('NODE_ENV', NODE_ENVS, 'development');
  const local = nodeEnv !== 'production';
  const second = 1000;

  const base = {
    nodeEnv,
    host: read.string('HOST', '0.0.0.0', /^[\w.:-]+$/, 'must be a host name or IP address'),
    port: read.int('PORT', 8000, 1, 65535),
    workerPort: read.int('WORKER_PORT', 8001, 1, 65535),
    databaseUrl: read.url(
      'DATABASE_URL',
      ['postgres', 'postgresql'],
      local ? 'postgres://postgres@127.0.0.1:5432/research' : undefined,
      'postgres://user:password@host:5432/research',
    ),
    dbPoolSize: read.int('DB_POOL_SIZE', 10, 1, 200),
    dbPoolIdleTimeoutMs: read.int('DB_POOL_IDLE_TIMEOUT_MS', 300 * second, 0, 24 * 3600 * second),
    dbStatementTimeoutMs: read.int('DB_STATEMENT_TIMEOUT_MS', 30 * second, 100, 3600 * second),
    redisUrl: read.url(
      'REDIS_URL',
      ['redis', 'rediss'],
      local ? 'redis://127.0.0.1:6379/0' : undefined,
      'redis://host:6379/0',
    ),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'warn' : 'info'),
    queuePrefix: read.string('QUEUE_PREFIX', 'research', /^[\w:.-]{1,64}$/, 'must be 1-64 letters, digits or _:.-'),
    queueConcurrency: read.int('QUEUE_CONCURRENCY', 2, 1, 256),
    tenantMaxRunning: read.int('TENANT_MAX_RUNNING', 20, 0, 100_000),
    queueLockMs: read.int('QUEUE_LOCK_MS', 30 * second, 1000, 3600 * second),
    researchAttempts: read.int('RESEARCH_ATTEMPTS', 3, 1, 20),
    researchBackoffMs: read.int('RESEARCH_BACKOFF_MS', 5 * second, 0, 3600 * second),
    researchLeaseMs: read.int('RESEARCH_LEASE_MS', 30 * second, 1000, 3600 * second),
    reconcileIntervalMs: read.int('RECONCILE_INTERVAL_MS', 15 * second, 200, 3600 * second),
    reconcileGraceMs: read.int('RECONCILE_GRACE_MS', 10 * second, 0, 3600 * second),
    planReviewTimeoutMs: read.int('PLAN_REVIEW_TIMEOUT_SECONDS', 86_400, 1, 30 * 86_400) * second,
    shutdownTimeoutMs: read.int('SHUTDOWN_TIMEOUT_MS', 25 * second, 1000, 600 * second),
    shutdownReadyDelayMs: read.int('SHUTDOWN_READY_DELAY_MS', 0, 0, 60 * second),
    eventsKeepAliveMs: read.int('EVENTS_KEEP_ALIVE_MS', 15 * second, 100, 300 * second),
    httpBodyLimitBytes: read.int('HTTP_BODY_LIMIT_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
    httpBodyTimeoutMs: read.int('HTTP_BODY_TIMEOUT_MS', 30 * second, 100, 600 * second),
    httpHeadersTimeoutMs: read.int('HTTP_HEADERS_TIMEOUT_MS', 10 * second, 100, 600 * second),
    documentMaxBytes: read.int('DOCUMENT_MAX_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    textWorkerThreads: read.int('TEXT_WORKER_THREADS', 2, 1, 64),
    textTaskTimeoutMs: read.int('TEXT_TASK_TIMEOUT_MS', 10 * second, 10, 600 * second),
    docsEnabled: read.bool('DOCS_ENABLED', true),
    queueDashboardEnabled: read.bool('QUEUE_DASHBOARD_ENABLED', false),
    apiConcurrentMarking: read.bool('API_CONCURRENT_MARKING', false),
    apiPretenuring: read.bool('API_PRETENURING', false),
    corsOrigins: readCorsOrigins(read, local),
    trustProxy: readTrustProxy(read),
  };

  const budgetDefaults: BudgetLimits = {
    tokens: read.int('RESEARCH_BUDGET_TOKENS', 200_000, 1000, 100_000_000),
    costUsd: read.decimal('RESEARCH_BUDGET_COST_USD', 1, 0, 10_000),
    llmCalls: read.int('RESEARCH_BUDGET_LLM_CALLS', 80, 1, 100_000),
    seconds: read.int('RESEARCH_BUDGET_SECONDS', 600, 5, 86_400),
  };
  const budgetMaxima: BudgetLimits = {
    tokens: read.int('RESEARCH_BUDGET_TOKENS_MAX', 1_000_000, 1000, 100_000_000),
    costUsd: read.decimal('RESEARCH_BUDGET_COST_USD_MAX', 10, 0, 10_000),
    llmCalls: read.int('RESEARCH_BUDGET_LLM_CALLS_MAX', 400, 1, 100_000),
    seconds: read.int('RESEARCH_BUDGET_SECONDS_MAX', 3600, 5, 86_400),
  };
  for (const key of Object.keys(budgetDefaults) as (keyof BudgetLimits)[]) {
    if (budgetDefaults[key] > budgetMaxima[key]) {
      read.problems.push(
        `the default budget ${key} (${budgetDefaults[key]}) is above its maximum (${budgetMaxima[key]})`,
      );
    }
  }

  const depth = { default: read.int('RESEARCH_DEPTH', 2, 1, 10), max: read.int('RESEARCH_DEPTH_MAX', 3, 1, 10) };
  if (depth.default > depth.max)
    read.problems.push(`RESEARCH_DEPTH (${depth.default}) is above RESEARCH_DEPTH_MAX (${depth.max})`);

  const values: AppConfig = {
    ...base,
    auth: readAuth(read, nodeEnv),
    rateLimit: {
      enabled: read.bool('RATE_LIMIT_ENABLED', true),
      windowMs: read.int('RATE_LIMIT_WINDOW_MS', 1000, 100, 3_600_000),
      reads: read.int('RATE_LIMIT_READS', 100, 1, 1_000_000),
      writes: read.int('RATE_LIMIT_WRITES', 10, 1, 1_000_000),
      syncMs: read.int('RATE_LIMIT_SYNC_MS', 20, 1, 1000),
    },
    audit: {
      reads: read.bool('AUDIT_READS', true),
      flushMs: read.int('AUDIT_FLUSH_MS', 200, 10, 10_000),
      batchSize: read.int('AUDIT_BATCH_SIZE', 500, 1, 10_000),
      maxBuffered: read.int('AUDIT_MAX_BUFFERED', 100_000, 100, 10_000_000),
      deniedWindowMs: read.int('AUDIT_DENIED_WINDOW_MS', 10_000, 0, 3_600_000),
    },
    fetch: readFetch(read),
    webhooks: readWebhooks(read),
    search: readSearch(read),
    llm: readLlm(read),
    budgetDefaults,
    budgetMaxima,
    evidenceMinSources: read.int('RESEARCH_MIN_SOURCES', 2, 1, 50),
    depth,
    passages: readPassages(read),
  };
  if (!local) {
    read.problems.push(
      ...placeholderProblems({
        urls: { DATABASE_URL: values.databaseUrl, REDIS_URL: values.redisUrl },
        keys: { LLM_API_KEY: read.raw('LLM_API_KEY') },
      }),
    );
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return Object.freeze(Object.assign(new AppConfig(), values));
}

/** How long texts are split for reading: passage size and overlap, and what the reader of one source gets. */
function readPassages(read: EnvReader): PassageSettings {
  const size = read.int('PASSAGE_SIZE', 1500, 200, 20_000);
  const overlap = read.int('PASSAGE_OVERLAP', 200, 0, 10_000);
  const readerTokens = read.int('READER_CONTEXT_TOKENS', 3000, 100, 1_000_000);
  if (overlap * 2 > size)
    read.problems.push(`PASSAGE_OVERLAP (${overlap}) must be at most half of PASSAGE_SIZE (${size})`);
  if (readerTokens * 4 < size) {
    read.problems.push(
      `READER_CONTEXT_TOKENS (${readerTokens}) must hold at least one passage of PASSAGE_SIZE (${size}) characters`,
    );
  }
  return { size, overlap, readerTokens };
}

/**
 * Keys are required in production unless turned off on purpose with AUTH_DISABLED=true; in
 * development a call without a key acts as the default tenant unless AUTH_REQUIRED=true.
 */
function readAuth(read: EnvReader, nodeEnv: NodeEnv): AuthSettings {
  const production = nodeEnv === 'production';
  const disabled = read.bool('AUTH_DISABLED', false);
  const required = read.bool('AUTH_REQUIRED', production);
  if (production && !required && !disabled) {
    read.problems.push(
      'AUTH_REQUIRED=false would let anyone call the api in production; set AUTH_DISABLED=true too if that is really meant',
    );
  }
  return {
    required: required && !disabled,
    keyCacheTtlMs: read.int('AUTH_KEY_CACHE_TTL_MS', 10_000, 0, 600_000),
  };
}

export const SEARCH_PROVIDER_NAMES: readonly SearchProviderName[] = ['corpus', 'searxng', 'tavily', 'brave'];

/**
 * The sources researches use (`SEARCH_PROVIDERS`, the corpus alone by default) and what each web
 * engine listed there needs: SearXNG its URL, Tavily and Brave their keys. The base URLs point an
 * adapter at any server that speaks the provider's API.
 */
function readSearch(read: EnvReader): SearchSettings {
  const listed = read
    .text('SEARCH_PROVIDERS', 'corpus')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const providers: SearchProviderName[] = [];
  for (const name of listed) {
    if (!(SEARCH_PROVIDER_NAMES as readonly string[]).includes(name)) {
      read.problems.push(
        `SEARCH_PROVIDERS names an unknown provider "${name}"; providers are ${SEARCH_PROVIDER_NAMES.join(', ')}`,
      );
    } else if (!providers.includes(name as SearchProviderName)) {
      providers.push(name as SearchProviderName);
    }
  }
  if (listed.length === 0)
    read.problems.push(`SEARCH_PROVIDERS must name at least one of ${SEARCH_PROVIDER_NAMES.join(', ')}`);
  const uses = (name: SearchProviderName) => providers.includes(name);
  const configured = (name: SearchProviderName, variable: string, fallback: string | undefined, example: string) => {
    // Read even for an engine not listed, so that .env.example is checked against what is read;
    // validated only for the engines listed.
    read.raw(variable);
    return uses(name) ? read.url(variable, ['http', 'https'], fallback, example) : null;
  };
  const keyed = (name: 'tavily' | 'brave', keyVariable: string, urlVariable: string, fallbackUrl: string) => {
    const apiKey = read.raw(keyVariable);
    const baseUrl = configured(name, urlVariable, fallbackUrl, fallbackUrl);
    if (baseUrl === null) return null;
    if (!apiKey) read.problems.push(`${keyVariable} is required when SEARCH_PROVIDERS lists ${name}`);
    return { baseUrl, apiKey: apiKey ?? '' };
  };
  return {
    providers,
    searxngUrl: configured('searxng', 'SEARXNG_URL', undefined, 'http://searxng:8080'),
    tavily: keyed('tavily', 'TAVILY_API_KEY', 'TAVILY_BASE_URL', 'https://api.tavily.com'),
    brave: keyed('brave', 'BRAVE_API_KEY', 'BRAVE_BASE_URL', 'https://api.search.brave.com'),
    timeoutMs: read.int('SEARCH_TIMEOUT_MS', 10_000, 100, 120_000),
    retries: read.int('SEARCH_RETRIES', 2, 0, 10),
    cacheTtlSeconds: read.int('SEARCH_CACHE_TTL_SECONDS', 3600, 0, 30 * 86_400),
    pageCacheTtlSeconds: read.int('PAGE_CACHE_TTL_SECONDS', 86_400, 0, 30 * 86_400),
    pageCacheFreshSeconds: read.int('PAGE_CACHE_FRESH_SECONDS', 3600, 0, 30 * 86_400),
  };
}

/**
 * The page fetcher. `FETCH_ALLOWED_HOSTS` is empty by default: nothing private is reachable
 * unless an operator lists it (host names, addresses or CIDR networks).
 */
function readFetch(read: EnvReader): FetchSettings {
  const allowedHosts = readAllowedHosts(read, 'FETCH_ALLOWED_HOSTS');
  const userAgent = read.text('FETCH_USER_AGENT', DEFAULT_USER_AGENT);
  if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(userAgent)) {
    read.problems.push('FETCH_USER_AGENT must be printable ASCII, starting with the product name');
  }
  return {
    allowedHosts,
    userAgent,
    respectRobots: read.bool('FETCH_RESPECT_ROBOTS', true),
    connectTimeoutMs: read.int('FETCH_CONNECT_TIMEOUT_MS', 5000, 100, 60_000),
    timeoutMs: read.int('FETCH_TIMEOUT_MS', 20_000, 500, 300_000),
    maxBytes: read.int('FETCH_MAX_BYTES', 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    maxDecodedBytes: read.int('FETCH_MAX_DECODED_BYTES', 20 * 1024 * 1024, 1024, 500 * 1024 * 1024),
    maxRedirects: read.int('FETCH_MAX_REDIRECTS', 5, 0, 5),
    robotsTtlMs: read.int('FETCH_ROBOTS_TTL_SECONDS', 3600, 0, 7 * 24 * 3600) * 1000,
  };
}

/** Host names, addresses and CIDR networks the outbound guard lets through although private. */
function readAllowedHosts(read: EnvReader, name: string): string[] {
  const allowedHosts = read
    .text(name, '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of allowedHosts.filter((candidate) => candidate.includes('/'))) {
    const [address, bits] = entry.split('/');
    const width = isIP(address ?? '') === 4 ? 32 : isIP(address ?? '') === 6 ? 128 : 0;
    if (width === 0 || !/^\d+$/.test(bits ?? '') || Number(bits) > width) {
      read.problems.push(`${name} must list host names, addresses or CIDR networks; "${entry}" is none`);
    }
  }
  return allowedHosts;
}

/**
 * Webhooks: callback URLs pass the same guard as pages, with their own allow-list (empty by
 * default: no private address, loopback only for tests that list it). A failed delivery is tried
 * again after `backoffMs`, doubling, until `retryMs` after the research ended.
 */
function readWebhooks(read: EnvReader): WebhookSettings {
  return {
    allowedHosts: readAllowedHosts(read, 'WEBHOOK_ALLOWED_HOSTS'),
    retryMs: read.int('WEBHOOK_RETRY_SECONDS', 86_400, 0, 30 * 86_400) * 1000,
    backoffMs: read.int('WEBHOOK_BACKOFF_MS', 10_000, 10, 3_600_000),
    timeoutMs: read.int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
  };
}

/** Names the service to the sites it reads; the part before the `/` is its robots.txt user agent. */
export const DEFAULT_USER_AGENT = 'deep-research-service/0.1 (research agent; honours robots.txt)';

/**
 * Exact origins (scheme, host and port) whose browser pages may call the api. `*` lets any page
 * call it, which is for development: production names the sites it serves.
 */
function readCorsOrigins(read: EnvReader, local: boolean): readonly string[] {
  const entries = read
    .text('CORS_ORIGINS', '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.includes('*')) {
    if (entries.length > 1) read.problems.push('CORS_ORIGINS must be * alone or a list of origins, not both');
    else if (!local) read.problems.push('CORS_ORIGINS must list the origins in production; * is for development');
    return ['*'];
  }
  for (const entry of entries) {
    if (!isOrigin(entry)) {
      read.problems.push(
        `CORS_ORIGINS must list origins such as https://app.example.com (scheme, host and port, no path); "${entry}" is not`,
      );
    }
  }
  return entries;
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

/** Named ranges that Fastify's proxy check (proxy-addr) understands. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** `false` (the default), `true`, a number of proxies, or the proxies' addresses and CIDR ranges. */
function readTrustProxy(read: EnvReader): TrustProxy {
  const value = read.text('TRUST_PROXY', 'false');
  if (value.toLowerCase() === 'false') return false;
  if (value.toLowerCase() === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops >= 1 && hops <= 32) return hops;
  } else {
    const entries = value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    if (entries.length > 0 && entries.every((entry) => PROXY_RANGE_NAMES.includes(entry) || isAddressOrRange(entry)))
      return entries;
  }
  read.problems.push(
    'TRUST_PROXY must be false, true, a number of proxies from 1 to 32, or proxy addresses and CIDR ranges ' +
      `separated by commas, such as 10.0.0.0/8,127.0.0.1; got "${value}"`,
  );
  return false;
}

function isAddressOrRange(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address ?? '');
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

const STAGES = ['planner', 'reader', 'writer', 'verifier'];

function parsePrice(value: string): ModelPrice | undefined {
  const match = /^(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(value);
  return match ? { prompt: Number(match[1]), completion: Number(match[2]) } : undefined;
}

/** The LLM endpoint, or null when LLM_BASE_URL is not set (the offline engine runs then). */
function readLlm(read: EnvReader): LlmSettings | null {
  const stageModels = read.pairs(
    'LLM_STAGE_MODELS',
    (model) => (/^[\w.:/@-]{1,200}$/.test(model) ? model : undefined),
    'stage=model pairs separated by commas, e.g. reader=qwen-7b',
  );
  for (const stage of Object.keys(stageModels)) {
    if (!STAGES.includes(stage))
      read.problems.push(`LLM_STAGE_MODELS names an unknown stage "${stage}"; stages are ${STAGES.join(', ')}`);
  }
  const settings = {
    apiKey: read.text('LLM_API_KEY', 'none'),
    model: read.string('LLM_MODEL', 'qwen-72b', /^[\w.:/@-]{1,200}$/, 'must be a model name'),
    stageModels,
    timeoutMs: read.int('LLM_TIMEOUT_MS', 60_000, 100, 600_000),
    maxRetries: read.int('LLM_MAX_RETRIES', 3, 0, 10),
    maxConcurrency: read.int('LLM_MAX_CONCURRENCY', 8, 1, 1000),
    cacheTtlSeconds: read.int('LLM_CACHE_TTL_SECONDS', 86_400, 0, 30 * 86_400),
    prices: read.pairs(
      'LLM_PRICES',
      parsePrice,
      'model=prompt/completion pairs in USD per million tokens, e.g. gpt-4o-mini=0.15/0.6',
    ),
    circuit: readCircuit(read),
  };
  if (read.raw('LLM_BASE_URL') === undefined) return null;
  const baseUrl = read.url('LLM_BASE_URL', ['http', 'https'], undefined, 'http://vllm:8000/v1');
  return { baseUrl, ...settings };
}

function readCircuit(read: EnvReader): LlmCircuitSettings {
  const circuit: LlmCircuitSettings = {
    failures: read.int('LLM_CIRCUIT_FAILURES', 5, 1, 1000),
    cooldownMs: read.int('LLM_CIRCUIT_COOLDOWN_MS', 5_000, 100, 3_600_000),
    maxCooldownMs: read.int('LLM_CIRCUIT_MAX_COOLDOWN_MS', 60_000, 100, 3_600_000),
    outageMaxMs: read.int('LLM_OUTAGE_MAX_SECONDS', 7_200, 1, 7 * 86_400) * 1000,
  };
  if (circuit.cooldownMs > circuit.maxCooldownMs) {
    read.problems.push(
      `LLM_CIRCUIT_COOLDOWN_MS (${circuit.cooldownMs}) must not be above LLM_CIRCUIT_MAX_COOLDOWN_MS (${circuit.maxCooldownMs})`,
    );
  }
  return circuit;
}

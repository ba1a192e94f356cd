import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, SettingRead, loadConfig, variablesRead } from './load-config';

describe('loadConfig', () => {
  it('defaults to the local services and the ports of the deployment chapter', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 8000,
      workerPort: 8001,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/research',
      redisUrl: 'redis://127.0.0.1:6379/0',
      logLevel: 'info',
      queueConcurrency: 2,
      researchAttempts: 3,
      httpBodyLimitBytes: 65536,
      httpBodyTimeoutMs: 30000,
      httpHeadersTimeoutMs: 10000,
      apiConcurrentMarking: false,
      apiPretenuring: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads and converts every variable', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '9000',
      WORKER_PORT: '9001',
      DATABASE_URL: 'postgresql://app:secret@db:5432/research',
      REDIS_URL: 'rediss://cache:6380/2',
      LOG_LEVEL: 'debug',
      QUEUE_CONCURRENCY: '8',
      RESEARCH_ATTEMPTS: '5',
      DOCS_ENABLED: 'false',
      HTTP_BODY_TIMEOUT_MS: '5000',
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      API_CONCURRENT_MARKING: 'true',
      API_PRETENURING: 'true',
    });
    expect(config).toMatchObject({
      nodeEnv: 'production',
      port: 9000,
      workerPort: 9001,
      databaseUrl: 'postgresql://app:secret@db:5432/research',
      redisUrl: 'rediss://cache:6380/2',
      logLevel: 'debug',
      queueConcurrency: 8,
      researchAttempts: 5,
      docsEnabled: false,
      httpBodyTimeoutMs: 5000,
      httpHeadersTimeoutMs: 2000,
      apiConcurrentMarking: true,
      apiPretenuring: true,
    });
  });

  it('requires the connection URLs in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    try {
      loadConfig({ NODE_ENV: 'production' });
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'DATABASE_URL is required, e.g. postgres://user:password@host:5432/research',
        'REDIS_URL is required, e.g. redis://host:6379/0',
      ]);
    }
  });

  it('reports every invalid value at once, without echoing passwords', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({
        PORT: 'eighty',
        WORKER_PORT: '70000',
        DATABASE_URL: 'mysql://root:hunter2@db/research',
        REDIS_URL: 'not a url',
        LOG_LEVEL: 'loud',
        QUEUE_CONCURRENCY: '0',
        RESEARCH_ATTEMPTS: '2.5',
        DOCS_ENABLED: 'maybe',
        HTTP_BODY_TIMEOUT_MS: '0',
        HTTP_HEADERS_TIMEOUT_MS: '1h',
      });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error?.problems).toEqual([
      'PORT must be an integer from 1 to 65535; got "eighty"',
      'WORKER_PORT must be an integer from 1 to 65535; got "70000"',
      'DATABASE_URL must use postgres:// or postgresql://; got "mysql://"',
      'REDIS_URL must be a URL like redis://host:6379/0; got "not a url"',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "loud"',
      'QUEUE_CONCURRENCY must be an integer from 1 to 256; got "0"',
      'RESEARCH_ATTEMPTS must be an integer from 1 to 20; got "2.5"',
      'HTTP_BODY_TIMEOUT_MS must be an integer from 100 to 600000; got "0"',
      'HTTP_HEADERS_TIMEOUT_MS must be an integer from 100 to 600000; got "1h"',
      'DOCS_ENABLED must be true or false; got "maybe"',
    ]);
    expect(error?.message).not.toContain('hunter2');
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: '  ' })).toMatchObject({ port: 8000, logLevel: 'info' });
  });
});

describe('text worker settings', () => {
  it('defaults to two threads and a 10 s limit per task', () => {
    expect(loadConfig({})).toMatchObject({ textWorkerThreads: 2, textTaskTimeoutMs: 10000 });
  });

  it('reads them and rejects values out of range', () => {
    expect(loadConfig({ TEXT_WORKER_THREADS: '4', TEXT_TASK_TIMEOUT_MS: '250' })).toMatchObject({
      textWorkerThreads: 4,
      textTaskTimeoutMs: 250,
    });
    let problems: readonly string[] = [];
    try {
      loadConfig({ TEXT_WORKER_THREADS: '0', TEXT_TASK_TIMEOUT_MS: '5' });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      'TEXT_WORKER_THREADS must be an integer from 1 to 64; got "0"',
      'TEXT_TASK_TIMEOUT_MS must be an integer from 10 to 600000; got "5"',
    ]);
  });
});

describe('plan review settings', () => {
  it('lets a plan wait a day for its review by default, and reads the timeout in seconds', () => {
    expect(loadConfig({}).planReviewTimeoutMs).toBe(86_400_000);
    expect(loadConfig({ PLAN_REVIEW_TIMEOUT_SECONDS: '1' }).planReviewTimeoutMs).toBe(1000);
    expect(() => loadConfig({ PLAN_REVIEW_TIMEOUT_SECONDS: '0' })).toThrow(
      new ConfigError(['PLAN_REVIEW_TIMEOUT_SECONDS must be an integer from 1 to 2592000; got "0"']),
    );
  });
});

describe('authentication settings', () => {
  const production = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://u:p@db:5432/research',
    REDIS_URL: 'redis://redis:6379/0',
  };

  it('requires keys in production by default, and not elsewhere', () => {
    expect(loadConfig(production).auth).toEqual({ required: true, keyCacheTtlMs: 10_000 });
    expect(loadConfig({}).auth.required).toBe(false);
    expect(loadConfig({ AUTH_REQUIRED: 'true' }).auth.required).toBe(true);
  });

  it('turns keys off in production only when told twice', () => {
    expect(() => loadConfig({ ...production, AUTH_REQUIRED: 'false' })).toThrow(
      'AUTH_REQUIRED=false would let anyone call the api in production; set AUTH_DISABLED=true too if that is really meant',
    );
    expect(loadConfig({ ...production, AUTH_DISABLED: 'true' }).auth.required).toBe(false);
    expect(loadConfig({ ...production, AUTH_REQUIRED: 'false', AUTH_DISABLED: 'true' }).auth.required).toBe(false);
  });
});

describe('rate-limit settings', () => {
  it('limits 100 reads and 10 writes a second, counts shared through Redis every 20 ms', () => {
    expect(loadConfig({}).rateLimit).toEqual({ enabled: true, windowMs: 1000, reads: 100, writes: 10, syncMs: 20 });
    expect(loadConfig({ RATE_LIMIT_SYNC_MS: '5' }).rateLimit.syncMs).toBe(5);
    expect(() => loadConfig({ RATE_LIMIT_SYNC_MS: '0' })).toThrow(/RATE_LIMIT_SYNC_MS/);
  });
});

describe('audit settings', () => {
  it('records reads, and writes batched records within 200 ms, 500 at a time, keeping up to 100000', () => {
    expect(loadConfig({}).audit).toEqual({
      reads: true,
      flushMs: 200,
      batchSize: 500,
      maxBuffered: 100_000,
      deniedWindowMs: 10_000,
    });
  });

  it('reads them and names values out of range', () => {
    expect(
      loadConfig({
        AUDIT_READS: 'false',
        AUDIT_FLUSH_MS: '100',
        AUDIT_BATCH_SIZE: '50',
        AUDIT_MAX_BUFFERED: '1000',
        AUDIT_DENIED_WINDOW_MS: '0',
      }).audit,
    ).toEqual({ reads: false, flushMs: 100, batchSize: 50, maxBuffered: 1000, deniedWindowMs: 0 });
    expect(() =>
      loadConfig({ AUDIT_READS: 'sometimes', AUDIT_FLUSH_MS: '0', AUDIT_BATCH_SIZE: '0', AUDIT_MAX_BUFFERED: '10' }),
    ).toThrow(
      new ConfigError([
        'AUDIT_READS must be true or false; got "sometimes"',
        'AUDIT_FLUSH_MS must be an integer from 10 to 10000; got "0"',
        'AUDIT_BATCH_SIZE must be an integer from 1 to 10000; got "0"',
        'AUDIT_MAX_BUFFERED must be an integer from 100 to 10000000; got "10"',
      ]),
    );
  });
});

describe('search providers', () => {
  it('searches the corpus alone by default, with retries, a timeout and caches for web engines', () => {
    expect(loadConfig({}).search).toEqual({
      providers: ['corpus'],
      searxngUrl: null,
      tavily: null,
      brave: null,
      timeoutMs: 10_000,
      retries: 2,
      cacheTtlSeconds: 3600,
      pageCacheTtlSeconds: 86_400,
      pageCacheFreshSeconds: 3600,
    });
  });

  it('reads passages by size and overlap, and refuses an overlap or a reader budget that cannot work', () => {
    expect(loadConfig({}).passages).toEqual({ size: 1500, overlap: 200, readerTokens: 3000 });
    expect(() => loadConfig({ PASSAGE_SIZE: '1000', PASSAGE_OVERLAP: '600', READER_CONTEXT_TOKENS: '200' })).toThrow(
      /PASSAGE_OVERLAP \(600\) must be at most half of PASSAGE_SIZE \(1000\)[\s\S]*READER_CONTEXT_TOKENS \(200\) must hold at least one passage/,
    );
  });

  it('reads the engines listed, in order, each with what it needs; base URLs default to the providers own', () => {
    expect(
      loadConfig({
        SEARCH_PROVIDERS: 'corpus, SearXNG,tavily,brave,corpus',
        SEARXNG_URL: 'http://searxng:8080',
        TAVILY_API_KEY: 'tvly-abc',
        BRAVE_API_KEY: 'brv-abc',
        BRAVE_BASE_URL: 'http://brave-proxy:9000',
      }).search,
    ).toMatchObject({
      providers: ['corpus', 'searxng', 'tavily', 'brave'],
      searxngUrl: 'http://searxng:8080',
      tavily: { baseUrl: 'https://api.tavily.com', apiKey: 'tvly-abc' },
      brave: { baseUrl: 'http://brave-proxy:9000', apiKey: 'brv-abc' },
    });
  });

  it('names an unknown engine and what a listed engine lacks', () => {
    expect(() => loadConfig({ SEARCH_PROVIDERS: 'corpus,google,searxng,tavily,brave' })).toThrow(
      new ConfigError([
        'SEARCH_PROVIDERS names an unknown provider "google"; providers are corpus, searxng, tavily, brave',
        'SEARXNG_URL is required, e.g. http://searxng:8080',
        'TAVILY_API_KEY is required when SEARCH_PROVIDERS lists tavily',
        'BRAVE_API_KEY is required when SEARCH_PROVIDERS lists brave',
      ]),
    );
    expect(() => loadConfig({ SEARCH_PROVIDERS: ' , ' })).toThrow(
      new ConfigError(['SEARCH_PROVIDERS must name at least one of corpus, searxng, tavily, brave']),
    );
  });
});

describe('web page fetching', () => {
  it('reaches nothing private by default, reads robots.txt, and names itself', () => {
    expect(loadConfig({}).fetch).toEqual({
      allowedHosts: [],
      userAgent: 'deep-research-service/0.1 (research agent; honours robots.txt)',
      respectRobots: true,
      connectTimeoutMs: 5000,
      timeoutMs: 20_000,
      maxBytes: 5 * 1024 * 1024,
      maxDecodedBytes: 20 * 1024 * 1024,
      maxRedirects: 5,
      robotsTtlMs: 3_600_000,
    });
  });

  it('reads the hosts and networks an operator allows, and names what it cannot read', () => {
    expect(
      loadConfig({ FETCH_ALLOWED_HOSTS: ' wiki.internal, 10.20.0.0/16 ,fd00::/8', FETCH_RESPECT_ROBOTS: 'false' })
        .fetch,
    ).toMatchObject({ allowedHosts: ['wiki.internal', '10.20.0.0/16', 'fd00::/8'], respectRobots: false });
    expect(() =>
      loadConfig({
        FETCH_ALLOWED_HOSTS: '10.0.0.0/33,wiki/x',
        FETCH_MAX_REDIRECTS: '6',
        FETCH_USER_AGENT: 'робот/1.0',
      }),
    ).toThrow(
      new ConfigError([
        'FETCH_ALLOWED_HOSTS must list host names, addresses or CIDR networks; "10.0.0.0/33" is none',
        'FETCH_ALLOWED_HOSTS must list host names, addresses or CIDR networks; "wiki/x" is none',
        'FETCH_USER_AGENT must be printable ASCII, starting with the product name',
        'FETCH_MAX_REDIRECTS must be an integer from 0 to 5; got "6"',
      ]),
    );
  });
});

describe('.env.example', () => {
  it('explains every variable the configuration reads, with its default', () => {
    const read = variablesRead();
    const example = readFileSync(join(__dirname, '..', '..', '..', '.env.example'), 'utf8');
    const documented = [...example.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((match) => [match[1], match[2]] as const);
    expect(documented.map(([name]) => name).sort()).toEqual([...read].sort());

    const defaults = loadConfig({});
    const fromExample = loadConfig(Object.fromEntries(documented));
    expect(fromExample).toEqual(defaults);
  });
});

describe('the reads reported to onRead (the configuration reference is generated from them)', () => {
  it('reports every variable the configuration reads, with what it accepts and its default', () => {
    const proxied = variablesRead();
    const reads = new Map<string, SettingRead[]>();
    loadConfig({}, (read) => reads.set(read.name, [...(reads.get(read.name) ?? []), read]));
    expect([...reads.keys()].sort()).toEqual([...proxied].sort());
    expect(reads.get('PORT')).toEqual([{ name: 'PORT', kind: 'integer', fallback: 8000, min: 1, max: 65535 }]);
    expect(reads.get('SEARCH_PROVIDERS')).toEqual([{ name: 'SEARCH_PROVIDERS', kind: 'text', fallback: 'corpus' }]);
    expect(reads.get('LOG_LEVEL')?.[0]).toMatchObject({ kind: 'choice', fallback: 'info', allowed: expect.any(Array) });
  });

  it('reports the production defaults: connection URLs without one, keys required', () => {
    const reads = new Map<string, SettingRead>();
    expect(() => loadConfig({ NODE_ENV: 'production' }, (read) => reads.set(read.name, read))).toThrow(ConfigError);
    expect(reads.get('DATABASE_URL')).toMatchObject({ kind: 'url', fallback: undefined });
    expect(reads.get('AUTH_REQUIRED')).toMatchObject({ kind: 'boolean', fallback: true });
  });
});

describe('LLM and budget settings', () => {
  it('runs without an LLM unless LLM_BASE_URL is set', () => {
    expect(loadConfig({}).llm).toBeNull();
  });

  it('reads the endpoint, per-stage models and prices', () => {
    const config = loadConfig({
      LLM_BASE_URL: 'http://vllm:8000/v1',
      LLM_API_KEY: 'sk-test',
      LLM_MODEL: 'qwen-72b',
      LLM_STAGE_MODELS: 'reader=qwen-7b, verifier=qwen-7b',
      LLM_PRICES: 'qwen-72b=0.9/0.9,qwen-7b=0.1/0.2',
      LLM_MAX_CONCURRENCY: '4',
    });
    expect(config.llm).toEqual({
      baseUrl: 'http://vllm:8000/v1',
      apiKey: 'sk-test',
      model: 'qwen-72b',
      stageModels: { reader: 'qwen-7b', verifier: 'qwen-7b' },
      timeoutMs: 60000,
      maxRetries: 3,
      maxConcurrency: 4,
      cacheTtlSeconds: 86400,
      prices: { 'qwen-72b': { prompt: 0.9, completion: 0.9 }, 'qwen-7b': { prompt: 0.1, completion: 0.2 } },
      circuit: { failures: 5, cooldownMs: 5000, maxCooldownMs: 60000, outageMaxMs: 7_200_000 },
    });
  });

  it('holds work through an LLM outage of two hours by default, and reads the circuit settings', () => {
    const base = { LLM_BASE_URL: 'http://vllm:8000/v1' };
    expect(loadConfig(base).llm?.circuit.outageMaxMs).toBeGreaterThanOrEqual(30 * 60 * 1000);
    expect(
      loadConfig({
        ...base,
        LLM_CIRCUIT_FAILURES: '3',
        LLM_CIRCUIT_COOLDOWN_MS: '500',
        LLM_CIRCUIT_MAX_COOLDOWN_MS: '2000',
        LLM_OUTAGE_MAX_SECONDS: '60',
      }).llm?.circuit,
    ).toEqual({ failures: 3, cooldownMs: 500, maxCooldownMs: 2000, outageMaxMs: 60_000 });
    expect(() => loadConfig({ ...base, LLM_CIRCUIT_COOLDOWN_MS: '9000', LLM_CIRCUIT_MAX_COOLDOWN_MS: '1000' })).toThrow(
      'LLM_CIRCUIT_COOLDOWN_MS (9000) must not be above LLM_CIRCUIT_MAX_COOLDOWN_MS (1000)',
    );
  });

  it('names malformed LLM settings and budgets', () => {
    let problems: readonly string[] = [];
    try {
      loadConfig({
        LLM_BASE_URL: 'vllm:8000',
        LLM_STAGE_MODELS: 'reader=qwen-7b,drafter=x,oops',
        LLM_PRICES: 'gpt-4o-mini=cheap',
        RESEARCH_BUDGET_COST_USD: '-1',
        RESEARCH_BUDGET_TOKENS: '5000000',
      });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      'RESEARCH_BUDGET_COST_USD must be a number from 0 to 10000; got "-1"',
      'the default budget tokens (5000000) is above its maximum (1000000)',
      'LLM_STAGE_MODELS must be stage=model pairs separated by commas, e.g. reader=qwen-7b; "oops" is not',
      'LLM_STAGE_MODELS names an unknown stage "drafter"; stages are planner, reader, writer, verifier',
      'LLM_PRICES must be model=prompt/completion pairs in USD per million tokens, e.g. gpt-4o-mini=0.15/0.6; "gpt-4o-mini=cheap" is not',
      'LLM_BASE_URL must use http:// or https://; got "vllm://"',
    ]);
  });
});

describe('CORS and proxy settings', () => {
  it('has no CORS and trusts no proxy by default', () => {
    expect(loadConfig({})).toMatchObject({ corsOrigins: [], trustProxy: false });
  });

  it('reads exact origins, and * outside production', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:3000',
    ]);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
  });

  it('refuses origins with a path, other schemes, * mixed with origins, and * in production', () => {
    const problemsOf = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    expect(problemsOf({ CORS_ORIGINS: 'https://app.example.com/, ftp://files.example.com' })).toEqual([
      'CORS_ORIGINS must list origins such as https://app.example.com (scheme, host and port, no path); "https://app.example.com/" is not',
      'CORS_ORIGINS must list origins such as https://app.example.com (scheme, host and port, no path); "ftp://files.example.com" is not',
    ]);
    expect(problemsOf({ CORS_ORIGINS: '*, https://app.example.com' })).toEqual([
      'CORS_ORIGINS must be * alone or a list of origins, not both',
    ]);
    expect(
      problemsOf({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://app:Xk4-sQ9@db:5432/research',
        REDIS_URL: 'redis://cache:6379/0',
        CORS_ORIGINS: '*',
      }),
    ).toEqual(['CORS_ORIGINS must list the origins in production; * is for development']);
  });

  it.each([
    ['false', false],
    ['true', true],
    ['2', 2],
    ['10.0.0.0/8, 127.0.0.1', ['10.0.0.0/8', '127.0.0.1']],
    ['loopback,fd00::/8', ['loopback', 'fd00::/8']],
  ])('reads TRUST_PROXY=%s', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each(['0', '33', 'yes', '10.0.0.0/33', '10.0.0', 'proxy.internal'])('refuses TRUST_PROXY=%s', (value) => {
    expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(`TRUST_PROXY must be false, true, a number of proxies`);
  });
});

describe('placeholder secrets in production', () => {
  const production = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://research:Xk4-sQ9@db:5432/research',
    REDIS_URL: 'redis://cache:6379/0',
  };

  function problemsOf(env: Record<string, string>): readonly string[] {
    try {
      loadConfig(env);
    } catch (error) {
      return (error as ConfigError).problems;
    }
    return [];
  }

  it('starts with secrets of its own', () => {
    expect(problemsOf({ ...production, LLM_BASE_URL: 'https://llm.example.com/v1', LLM_API_KEY: 'sk-live-1' })).toEqual(
      [],
    );
  });

  it('refuses the database password of the Compose file, naming the variable', () => {
    expect(problemsOf({ ...production, DATABASE_URL: 'postgres://user:password@postgres:5432/research' })).toEqual([
      'DATABASE_URL uses the placeholder password "password" (from the database login of docker-compose.yml and of the deployment chapter); production needs a password of its own',
    ]);
  });

  it('refuses the example secret of Kubernetes in any URL or key, whatever its case', () => {
    expect(
      problemsOf({
        ...production,
        DATABASE_URL: 'postgres://research:change-me@postgres.deep-research.svc:5432/research',
        REDIS_URL: 'redis://:CHANGE-ME@cache:6379/0',
        LLM_BASE_URL: 'https://llm.example.com/v1',
        LLM_API_KEY: 'change-me',
      }),
    ).toEqual([
      'DATABASE_URL uses the placeholder password "change-me" (from k8s/base/secret.example.yaml); production needs a password of its own',
      'REDIS_URL uses the placeholder password "CHANGE-ME" (from k8s/base/secret.example.yaml); production needs a password of its own',
      'LLM_API_KEY is the placeholder "change-me" (from k8s/base/secret.example.yaml); production needs the real key',
    ]);
  });

  it('leaves development and tests alone', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://user:password@127.0.0.1:5432/research' })).not.toThrow();
  });
});

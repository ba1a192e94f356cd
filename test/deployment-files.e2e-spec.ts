/**
 * Static checks of the deployment files against the deployment chapter's contract: there is no
 * container engine here, so the files are parsed and cross-checked with the repository instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT, alertRuleFiles, dashboardFiles } from './support/monitoring-files';

type Yaml = Record<string, any>;

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');
const exists = (file: string) => existsSync(join(REPO_ROOT, file));
const readYaml = (file: string): Yaml => parse(read(file), { merge: true }) as Yaml;

const ENV_EXAMPLE: ReadonlyMap<string, string> = new Map(
  [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((match) => [match[1], match[2]]),
);
const DEFAULT_SHUTDOWN_TIMEOUT_MS = Number(ENV_EXAMPLE.get('SHUTDOWN_TIMEOUT_MS'));

/** `dist/apps/api/src/main.js` is what `npm run build` makes of `apps/api/src/main.ts`. */
function sourceOfBuilt(path: string): string {
  const match = /^dist\/(.+)\.js$/.exec(path);
  if (!match) throw new Error(`not a built file: ${path}`);
  return `${match[1]}.ts`;
}

function expectRunsBuiltFile(command: string[], app: string, args: string[] = []): void {
  expect(command).toEqual(['node', `dist/apps/${app}/src/main.js`, ...args]);
  expect(exists(sourceOfBuilt(command[1]))).toBe(true);
}

/**
 * Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `${VAR:?error}` (which fails when
 * VAR is unset, as Compose does), and `$$`.
 */
function interpolate(value: string, env: Record<string, string> = {}): string {
  return value
    .replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::\?([^}]*)|:?-([^}]*))?\}/g,
      (_, name: string, error?: string, fallback?: string) => {
        if (error !== undefined && !env[name]) throw new Error(`${name} is required: ${error}`);
        return env[name] ?? fallback ?? '';
      },
    )
    .replace(/\$\$/g, '$');
}

function durationMs(value: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(value);
  if (!match) throw new Error(`not a duration: ${value}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

describe('Dockerfile', () => {
  interface Instruction {
    keyword: string;
    args: string;
    stage: number;
  }

  const instructions: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of read('Dockerfile').split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.trimEnd();
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const logical = (pending + line).trim();
    pending = '';
    if (!logical) continue;
    const [, keyword, args] = /^(\S+)\s*([\s\S]*)$/.exec(logical)!;
    if (keyword.toUpperCase() === 'FROM') stage++;
    instructions.push({ keyword: keyword.toUpperCase(), args: args.trim(), stage });
  }
  const finalStage = stage;
  const inStage = (n: number, keyword: string) =>
    instructions.filter((i) => i.stage === n && i.keyword === keyword).map((i) => i.args);
  const stageNames = instructions
    .filter((i) => i.keyword === 'FROM')
    .map((i) => /\bAS\s+(\S+)/i.exec(i.args)?.[1])
    .filter((name): name is string => name !== undefined);

  it('builds in several stages from a Node.js LTS image (even major, 22 or later)', () => {
    const bases = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0]);
    expect(bases.length).toBeGreaterThanOrEqual(2);
    for (const image of bases.filter((base) => !stageNames.includes(base))) {
      const major = /^node:(\d+)(-[a-z0-9.-]+)?$/.exec(image);
      expect(major).not.toBeNull();
      expect(Number(major![1])).toBeGreaterThanOrEqual(22);
      expect(Number(major![1]) % 2).toBe(0);
    }
  });

  it('installs, builds and prunes to production dependencies in the build stage', () => {
    const runs = instructions.filter((i) => i.stage < finalStage && i.keyword === 'RUN').map((i) => i.args);
    const script = runs.join(' && ');
    expect(script).toMatch(/\bnpm ci\b/);
    expect(script).toMatch(/\bnpm run build\b/);
    expect(script).toMatch(/\bnpm prune --omit=dev\b/);
    // The build script compiles apps/ and libs/ into dist/ with the same layout.
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toMatch(/^swc apps libs -d dist\b/);
  });

  it('copies only files that exist in the build context', () => {
    for (const args of instructions
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .map((i) => i.args)) {
      const sources = args
        .split(/\s+/)
        .filter((word) => !word.startsWith('--'))
        .slice(0, -1);
      for (const source of sources) expect([source, exists(source)]).toEqual([source, true]);
    }
  });

  it('ships only package.json, the production node_modules, dist, the example corpus and the backup scripts', () => {
    const copied = inStage(finalStage, 'COPY').map((args) => args.split(/\s+/).filter((w) => !w.startsWith('--'))[0]);
    expect(copied.map((source) => source.replace(/^\/app\//, '')).sort()).toEqual([
      'dist',
      'examples',
      'node_modules',
      'package.json',
      'scripts/backup',
    ]);
    expect(inStage(finalStage, 'ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
  });

  it('runs as a non-root user', () => {
    const users = inStage(finalStage, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
  });

  it('checks /health with curl, which it installs', () => {
    const [healthcheck] = inStage(finalStage, 'HEALTHCHECK');
    expect(healthcheck).toMatch(/\bCMD\b.*\bcurl\b.*http:\/\/127\.0\.0\.1:\$\{PORT:-8000\}\/health/);
    const runs = inStage(finalStage, 'RUN').join(' && ');
    expect(runs).toMatch(/apt-get install -y --no-install-recommends curl/);
    expect(runs).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
  });

  it('installs the PostgreSQL 15 client of its Debian release for the backup scripts', () => {
    // node:<n>-bookworm-slim is Debian 12, whose PostgreSQL is 15: the major version of the
    // Compose server, as pg_dump must be at least as new as the server it dumps.
    const bases = instructions.filter((i) => i.stage === finalStage && i.keyword === 'FROM').map((i) => i.args);
    expect(bases.join(' ')).toMatch(/^node:\d+-bookworm-slim\b/);
    expect(inStage(finalStage, 'RUN').join(' && ')).toMatch(
      /apt-get install -y --no-install-recommends [^&]*\bpostgresql-client-15\b/,
    );
    for (const script of ['pg-backup.sh', 'pg-restore.sh', 'pg-verify.sh', 'lib.sh'])
      expect(exists(`scripts/backup/${script}`)).toBe(true);
  });

  it('exposes the api and worker ports and starts the api by default', () => {
    expect(inStage(finalStage, 'EXPOSE').join(' ').split(/\s+/).sort()).toEqual(['8000', '8001']);
    const [cmd] = inStage(finalStage, 'CMD');
    expectRunsBuiltFile(JSON.parse(cmd) as string[], 'api');
  });

  it('keeps local state out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    expect(ignored).toEqual(
      expect.arrayContaining(['node_modules', 'dist', '.git', '.env', 'coverage', '.tmp', '*.log']),
    );
  });
});

describe('docker-compose.yml', () => {
  const compose = readYaml('docker-compose.yml');
  const services = compose.services as Record<string, Yaml>;
  const APP_SERVICES = ['migrate', 'api', 'worker'];
  /** Services that run to completion, once: they are not restarted. */
  const ONE_OFF = ['migrate', 'llm-pull'];
  /** What an operator sets before `docker compose up`. */
  const COMPOSE_ENV = { POSTGRES_PASSWORD: 'Xk4-sQ9-local' };

  function ports(service: Yaml): { host: number; container: number }[] {
    return (service.ports ?? []).map((entry: string | Yaml) => {
      if (typeof entry !== 'string') return { host: Number(entry.published), container: Number(entry.target) };
      const parts = entry.replace(/\/(tcp|udp)$/, '').split(':');
      return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
    });
  }

  function environment(service: Yaml): Record<string, string> {
    const env = service.environment ?? {};
    if (!Array.isArray(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
    return Object.fromEntries(
      (env as string[]).map((entry) => [entry.split('=')[0], entry.split('=').slice(1).join('=')] as const),
    );
  }

  it('uses the Compose specification (no version key) with the services of the chapter, and two profiles', () => {
    expect(compose.version).toBeUndefined();
    expect(compose.name).toBe('deep-research');
    const inProfile = (profile: string | undefined) =>
      Object.keys(services)
        .filter((name) => (services[name].profiles as string[] | undefined)?.[0] === profile)
        .sort();
    expect(inProfile(undefined)).toEqual(
      [
        'api',
        'grafana',
        'migrate',
        'postgres',
        'postgres-exporter',
        'prometheus',
        'redis',
        'redis-exporter',
        'worker',
      ].sort(),
    );
    expect(inProfile('search')).toEqual(['searxng']);
    expect(inProfile('llm')).toEqual(['llm-pull', 'ollama']);
  });

  it.each([
    ['api', 8000],
    ['postgres', 5432],
    ['redis', 6379],
    ['prometheus', 9090],
    ['grafana', 3000],
    ['redis-exporter', 9121],
    ['postgres-exporter', 9187],
    ['worker', 8001],
    ['searxng', 8080],
    ['ollama', 11434],
  ])('publishes %s on host port %i', (name, port) => {
    expect(ports(services[name])).toEqual([{ host: port, container: port }]);
  });

  it('publishes the api on every interface and everything else on 127.0.0.1 only', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const entry of (service.ports ?? []) as string[])
        expect([name, entry.split(':')[0]]).toEqual([name, name === 'api' ? '0.0.0.0' : '127.0.0.1']);
    }
  });

  it('pins every image tag, and builds api, worker and migrations as one image from this repository', () => {
    for (const [name, service] of Object.entries(services)) {
      const image = String(service.image);
      expect([name, /^[^:]+:[^:]+$/.test(image) && !image.endsWith(':latest')]).toEqual([name, true]);
    }
    expect(services.postgres.image).toMatch(/^postgres:15\.\d+$/);
    expect(services.redis.image).toMatch(/^redis:7\.\d+\.\d+-alpine$/);
    expect(services['llm-pull'].image).toBe(services.ollama.image);
    const images = new Set(APP_SERVICES.map((name) => services[name].image));
    expect(images.size).toBe(1);
    for (const name of APP_SERVICES) expect(services[name].build).toBe('.');
    expect(exists('Dockerfile')).toBe(true);
  });

  it('runs the migrations, the api and the worker from the built image', () => {
    expectRunsBuiltFile(services.migrate.command, 'cli', ['migrate']);
    expectRunsBuiltFile(services.api.command, 'api');
    expectRunsBuiltFile(services.worker.command, 'worker');
  });

  it('health-checks the stores, the api and the worker', () => {
    const test = (name: string) => (services[name].healthcheck.test as string[]).join(' ');
    expect(test('postgres')).toMatch(/pg_isready/);
    expect(test('redis')).toMatch(/redis-cli ping/);
    expect(test('api')).toMatch(/curl .*http:\/\/127\.0\.0\.1:8000\/health$/);
    expect(test('worker')).toMatch(/curl .*http:\/\/127\.0\.0\.1:8001\/health$/);
    expect(services.migrate.healthcheck).toEqual({ disable: true });
  });

  it('starts the api and the worker after the migrations succeeded and the stores are healthy', () => {
    expect(services.migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const name of ['api', 'worker']) {
      expect(services[name].depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
      });
    }
  });

  it('restarts the long-running processes, not the one-off ones', () => {
    for (const name of ONE_OFF) expect([name, services[name].restart]).toEqual([name, 'no']);
    for (const name of Object.keys(services).filter((n) => !ONE_OFF.includes(n))) {
      expect([name, services[name].restart]).toEqual([name, 'unless-stopped']);
    }
  });

  it('limits the CPU and memory of every service', () => {
    for (const [name, service] of Object.entries(services)) {
      const limits = service.deploy?.resources?.limits ?? {};
      expect([name, Number(limits.cpus) > 0, /^\d+[MG]$/.test(String(limits.memory))]).toEqual([name, true, true]);
    }
  });

  it('waits for the graceful shutdown of the api and the worker', () => {
    for (const name of ['api', 'worker'])
      expect(durationMs(services[name].stop_grace_period)).toBeGreaterThan(DEFAULT_SHUTDOWN_TIMEOUT_MS);
  });

  it('rotates the logs of every service (json-file, max-size and max-file)', () => {
    for (const [name, service] of Object.entries(services)) {
      expect([name, service.logging]).toEqual([
        name,
        {
          driver: 'json-file',
          options: { 'max-size': expect.stringMatching(/^\d+m$/), 'max-file': expect.any(String) },
        },
      ]);
    }
  });

  it('puts every service on the research-net network', () => {
    expect(Object.keys(compose.networks)).toEqual(['research-net']);
    for (const [name, service] of Object.entries(services))
      expect([name, service.networks]).toEqual([name, ['research-net']]);
  });

  it('mounts only paths that exist in the repository, and declares its named volumes', () => {
    const named = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, service] of Object.entries(services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(':')[0];
        if (source.startsWith('.') || source.startsWith('/')) {
          expect([name, source, exists(source)]).toEqual([name, source, true]);
        } else {
          expect([name, source, named.has(source)]).toEqual([name, source, true]);
        }
      }
    }
  });

  it('needs a database password of its own, and shares it with the apps and the exporter', () => {
    const postgres = environment(services.postgres);
    const urls = [
      ...APP_SERVICES.map((name) => environment(services[name]).DATABASE_URL),
      environment(services['postgres-exporter']).DATA_SOURCE_NAME,
    ];
    for (const value of [postgres.POSTGRES_PASSWORD, ...urls]) {
      expect(() => interpolate(value)).toThrow('POSTGRES_PASSWORD is required');
    }
    for (const url of urls) expect(new URL(interpolate(url, COMPOSE_ENV)).password).toBe(COMPOSE_ENV.POSTGRES_PASSWORD);
  });

  it('reads .env when there is one, and works without it', () => {
    for (const name of APP_SERVICES) expect(services[name].env_file).toEqual([{ path: '.env', required: false }]);
  });

  it('sets only variables of .env.example on the apps, pointing them at the Compose services', () => {
    for (const name of APP_SERVICES) {
      const env = environment(services[name]);
      for (const key of Object.keys(env)) expect([name, key, ENV_EXAMPLE.has(key)]).toEqual([name, key, true]);
      expect(env.NODE_ENV).toBe('production');
      expect(env.PORT).toBe('8000');
      expect(env.WORKER_PORT).toBe('8001');
      const database = new URL(interpolate(env.DATABASE_URL, COMPOSE_ENV));
      const postgres = environment(services.postgres);
      expect([database.hostname, database.port, database.pathname]).toEqual(['postgres', '5432', '/research']);
      expect(database.username).toBe(interpolate(postgres.POSTGRES_USER));
      expect(database.password).toBe(interpolate(postgres.POSTGRES_PASSWORD, COMPOSE_ENV));
      expect(postgres.POSTGRES_DB).toBe('research');
      const redis = new URL(env.REDIS_URL);
      expect([redis.hostname, redis.port]).toEqual(['redis', '6379']);
      expect(Number(interpolate(env.SHUTDOWN_READY_DELAY_MS))).toBeLessThan(DEFAULT_SHUTDOWN_TIMEOUT_MS);
    }
  });

  it('keeps the queue in Redis across restarts, and never evicts its keys', () => {
    const command = (services.redis.command as string[]).join(' ');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    // Redis' own limit stays below the container's, so a full Redis refuses writes before the
    // kernel kills it.
    const maxmemory = /--maxmemory (\d+)mb/.exec(command);
    const limit = /^(\d+)([MG])$/.exec(services.redis.deploy.resources.limits.memory)!;
    expect(Number(maxmemory![1])).toBeLessThan(Number(limit[1]) * (limit[2] === 'G' ? 1024 : 1));
  });

  it('points the exporters at the stores', () => {
    expect(environment(services['redis-exporter']).REDIS_ADDR).toBe('redis://redis:6379');
    const dsn = new URL(interpolate(environment(services['postgres-exporter']).DATA_SOURCE_NAME, COMPOSE_ENV));
    expect([dsn.hostname, dsn.port, dsn.pathname]).toEqual(['postgres', '5432', '/research']);
  });

  it('gives Grafana the admin/admin login of the chapter unless set otherwise, and its provisioning', () => {
    const env = environment(services.grafana);
    expect(interpolate(env.GF_SECURITY_ADMIN_USER)).toBe('admin');
    expect(interpolate(env.GF_SECURITY_ADMIN_PASSWORD)).toBe('admin');
    expect(interpolate(env.GF_SECURITY_ADMIN_PASSWORD, { GRAFANA_ADMIN_PASSWORD: 's3cret' })).toBe('s3cret');
    expect(services.grafana.volumes).toEqual(
      expect.arrayContaining([
        './monitoring/grafana/provisioning:/etc/grafana/provisioning:ro',
        './monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro',
      ]),
    );
  });

  it('scrapes each app and exporter where Compose publishes it', () => {
    expect(services.prometheus.volumes).toEqual(
      expect.arrayContaining([
        './monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
        './monitoring/alerts:/etc/prometheus/alerts:ro',
      ]),
    );
    const config = readYaml('monitoring/prometheus.yml');
    const targets: Record<string, string> = Object.fromEntries(
      (config.scrape_configs as Yaml[]).map((job) => [job.job_name, job.static_configs[0].targets[0]]),
    );
    expect(targets).toEqual({
      api: 'api:8000',
      worker: 'worker:8001',
      'redis-exporter': 'redis-exporter:9121',
      'postgres-exporter': 'postgres-exporter:9187',
      prometheus: 'localhost:9090',
    });
    for (const target of Object.values(targets).filter((t) => !t.startsWith('localhost'))) {
      const [service, port] = target.split(':');
      expect(ports(services[service]).map((p) => p.container)).toContain(Number(port));
    }
  });
});

describe('monitoring files', () => {
  const rules = readYaml('monitoring/alerts/research.rules.yml');
  const alerts = (rules.groups as Yaml[]).flatMap((group) => group.rules as Yaml[]).filter((rule) => rule.alert);

  it('scrapes every 15 s and loads the alert rules relative to its own folder', () => {
    const config = readYaml('monitoring/prometheus.yml');
    expect(config.global.scrape_interval).toBe('15s');
    expect(config.rule_files).toEqual(['alerts/research.rules.yml']);
    for (const file of config.rule_files as string[]) expect(exists(`monitoring/${file}`)).toBe(true);
    expect(alertRuleFiles()).toEqual(['monitoring/alerts/research.rules.yml']);
  });

  it('has the alerts, each with a duration, a severity, a summary and a description', () => {
    expect(alerts.map((rule) => rule.alert).sort()).toEqual([
      'LlmCircuitOpen',
      'LlmHighErrorRatio',
      'LlmOutageLong',
      'LlmTokenBurnHigh',
      'ResearchApiHighErrorRatio',
      'ResearchApiHighLatency',
      'ResearchQueueBacklogGrowing',
      'ResearchRunsFailing',
      'ScrapeTargetDown',
      'WebhookDeliveriesFailing',
    ]);
    for (const rule of alerts) {
      expect([rule.alert, rule.for]).toEqual([rule.alert, expect.stringMatching(/^\d+[smh]$/)]);
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.summary).toEqual(expect.any(String));
      expect(rule.annotations.description).toEqual(expect.any(String));
    }
    const exprOf = (name: string) => String(alerts.find((rule) => rule.alert === name)!.expr);
    expect(exprOf('ResearchApiHighErrorRatio')).toContain('research_requests_total{code="5xx"}');
    expect(exprOf('ResearchQueueBacklogGrowing')).toContain('max(research_queue_jobs{state="waiting"})');
    expect(exprOf('ResearchRunsFailing')).toContain('research_runs_total{outcome="failed"}');
    expect(exprOf('LlmHighErrorRatio')).toContain('llm_calls_total{status="error"}');
    expect(exprOf('ScrapeTargetDown').trim()).toBe('up == 0');
  });

  it('has a unit test that fires every alert, and cases where they stay quiet', () => {
    const tests = readYaml('monitoring/alerts/research.rules.test.yml');
    expect(tests.rule_files).toEqual(['research.rules.yml']);
    const cases = (tests.tests as Yaml[]).flatMap((test) => test.alert_rule_test as Yaml[]);
    const fired = new Set(cases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname));
    expect([...fired].sort()).toEqual(alerts.map((rule) => rule.alert).sort());
    expect(cases.filter((c) => (c.exp_alerts ?? []).length === 0).length).toBeGreaterThan(0);
  });

  it('provisions the Prometheus data source and the dashboards folder for Grafana', () => {
    const datasources = readYaml('monitoring/grafana/provisioning/datasources/prometheus.yml');
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    const providers = readYaml('monitoring/grafana/provisioning/dashboards/dashboards.yml');
    expect(providers.providers).toEqual([
      expect.objectContaining({
        type: 'file',
        options: expect.objectContaining({ path: '/var/lib/grafana/dashboards' }),
      }),
    ]);
  });

  it('has the four dashboards, well formed, all on the provisioned data source', () => {
    expect(dashboardFiles().map((file) => file.split('/').at(-1))).toEqual([
      'api-performance.json',
      'llm-usage.json',
      'research-tasks.json',
      'system-resources.json',
    ]);
    const uids = new Set<string>();
    for (const file of dashboardFiles()) {
      const dashboard = JSON.parse(read(file)) as Yaml;
      expect(typeof dashboard.title).toBe('string');
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(uids.has(dashboard.uid)).toBe(false);
      uids.add(dashboard.uid);
      const panels = (dashboard.panels as Yaml[]).flatMap((panel) => [panel, ...((panel.panels as Yaml[]) ?? [])]);
      expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
      for (const panel of panels) {
        const { h, w, x, y } = panel.gridPos;
        expect([panel.title, x + w <= 24 && h > 0 && y >= 0]).toEqual([panel.title, true]);
        if (panel.type === 'row') continue;
        expect(panel.datasource).toEqual({ type: 'prometheus', uid: 'prometheus' });
        expect(panel.targets.length).toBeGreaterThan(0);
        const refIds = (panel.targets as Yaml[]).map((target) => target.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
        for (const target of panel.targets as Yaml[]) {
          expect(target.datasource).toEqual({ type: 'prometheus', uid: 'prometheus' });
          expect(typeof target.expr).toBe('string');
        }
      }
    }
  });

  const promtool = spawnSync('promtool', ['--version']);
  (promtool.error ? it.skip : it)(
    promtool.error
      ? 'scripts/check-monitoring.sh (SKIPPED: promtool is not installed; apt-get install prometheus)'
      : 'passes scripts/check-monitoring.sh (promtool check config, check rules, test rules; dashboards)',
    () => {
      const run = spawnSync('bash', ['scripts/check-monitoring.sh'], { cwd: REPO_ROOT, encoding: 'utf8' });
      expect({ status: run.status, output: run.stdout + run.stderr }).toEqual({
        status: 0,
        output: expect.stringContaining('monitoring: all'),
      });
    },
  );
});

describe('k8s/base', () => {
  const BASE = 'k8s/base';
  const kustomization = readYaml(`${BASE}/kustomization.yaml`);
  const resources = (kustomization.resources as string[]).flatMap((file) =>
    parseAllDocuments(read(`${BASE}/${file}`)).map((doc) => doc.toJS() as Yaml),
  );
  const find = (kind: string, name: string): Yaml => {
    const found = resources.find((r) => r.kind === kind && r.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name}`);
    return found;
  };
  const [configMap] = kustomization.configMapGenerator as Yaml[];
  const config = new Map(
    (configMap.envs as string[]).flatMap((file) =>
      [...read(`${BASE}/${file}`).matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((match) => [match[1], match[2]] as const),
    ),
  );
  const secret = parse(read(`${BASE}/secret.example.yaml`)) as Yaml;
  const podSpecs: [string, Yaml][] = [
    ['api', find('Deployment', 'research-api').spec.template.spec],
    ['worker', find('Deployment', 'research-worker').spec.template.spec],
    ['migrate', find('Job', 'research-migrate').spec.template.spec],
  ];

  it('lists every manifest but the secret example, and each of them exists', () => {
    const files = readdirSync(join(REPO_ROOT, BASE)).filter((file) => file.endsWith('.yaml'));
    expect([...(kustomization.resources as string[])].sort()).toEqual(
      files.filter((file) => file !== 'kustomization.yaml' && file !== 'secret.example.yaml').sort(),
    );
    expect(kustomization.namespace).toBe('deep-research');
    expect(find('Namespace', 'deep-research')).toBeDefined();
    expect(secret.metadata.namespace).toBe('deep-research');
  });

  it('sets only variables of .env.example, the secret ones through the Secret', () => {
    for (const key of config.keys()) expect([key, ENV_EXAMPLE.has(key)]).toEqual([key, true]);
    expect(Object.keys(secret.stringData).sort()).toEqual(['DATABASE_URL', 'REDIS_URL']);
    expect(config.has('DATABASE_URL') || config.has('REDIS_URL')).toBe(false);
    expect(config.get('NODE_ENV')).toBe('production');
    expect(config.get('SHUTDOWN_READY_DELAY_MS')).toBe('5000');
    for (const [name, spec] of podSpecs) {
      for (const container of spec.containers as Yaml[]) {
        for (const env of (container.env ?? []) as Yaml[])
          expect([name, env.name, ENV_EXAMPLE.has(env.name)]).toEqual([name, env.name, true]);
        expect(container.envFrom).toEqual([
          { configMapRef: { name: configMap.name } },
          { secretRef: { name: secret.metadata.name } },
        ]);
      }
    }
  });

  it('runs every pod as non-root on a read-only root filesystem with a writable /tmp', () => {
    for (const [name, spec] of podSpecs) {
      expect([name, spec.securityContext.runAsNonRoot, spec.securityContext.runAsUser]).toEqual([name, true, 1000]);
      const [container] = spec.containers as Yaml[];
      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      const mount = (container.volumeMounts as Yaml[]).find((m) => m.mountPath === '/tmp');
      expect((spec.volumes as Yaml[]).find((v) => v.name === mount?.name)?.emptyDir).toBeDefined();
      expect(container.resources.requests).toBeDefined();
      expect(container.resources.limits.memory).toBeDefined();
      expect(container.image).toBe((kustomization.images as Yaml[])[0].name);
    }
  });

  it.each([
    ['research-api', 'api', 'PORT', 8000],
    ['research-worker', 'worker', 'WORKER_PORT', 8001],
  ])('%s probes /health and /ready on its %s port', (deployment, app, variable, port) => {
    const spec = find('Deployment', deployment).spec.template.spec;
    const [container] = spec.containers as Yaml[];
    expectRunsBuiltFile(container.command, app);
    expect(Number(config.get(variable))).toBe(port);
    const portOf = (probe: Yaml) => {
      const named = probe.httpGet.port;
      return typeof named === 'number'
        ? named
        : (container.ports as Yaml[]).find((p) => p.name === named)?.containerPort;
    };
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect([probe, portOf(container[probe])]).toEqual([probe, port]);
    }
    expect(container.startupProbe.httpGet.path).toBe('/health');
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    expect(container.readinessProbe.httpGet.path).toBe('/ready');
  });

  it.each([['research-api'], ['research-worker']])(
    '%s waits longer than SHUTDOWN_TIMEOUT_MS before killing a pod, and is scraped by Prometheus',
    (deployment) => {
      const template = find('Deployment', deployment).spec.template;
      const timeoutMs = Number(config.get('SHUTDOWN_TIMEOUT_MS') ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);
      expect(template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(timeoutMs);
      const [container] = template.spec.containers as Yaml[];
      expect(template.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(container.ports[0].containerPort),
        'prometheus.io/path': '/metrics',
      });
    },
  );

  it('runs two api replicas and scales them on CPU', () => {
    expect(find('Deployment', 'research-api').spec.replicas).toBe(2);
    const hpa = find('HorizontalPodAutoscaler', 'research-api');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'research-api' });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
  });

  it.each([
    ['Service', 'research-api', 'research-api', 8000],
    ['Service', 'research-worker', 'research-worker', 8001],
  ])('%s %s selects the pods of %s on port %i', (kind, name, deployment, port) => {
    const service = find(kind, name);
    const template = find('Deployment', deployment).spec.template;
    expect(template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports[0].port).toBe(port);
    const target = service.spec.ports[0].targetPort;
    const containerPorts = (template.spec.containers[0].ports as Yaml[]).filter(
      (p) => p.name === target || p.containerPort === target,
    );
    expect(containerPorts.map((p) => p.containerPort)).toEqual([port]);
  });

  it.each([['research-api'], ['research-worker']])('a PodDisruptionBudget covers %s', (deployment) => {
    const template = find('Deployment', deployment).spec.template;
    const budgets = resources.filter((r) => r.kind === 'PodDisruptionBudget');
    const matching = budgets.filter((pdb) =>
      Object.entries(pdb.spec.selector.matchLabels as Record<string, string>).every(
        ([key, value]) => template.metadata.labels[key] === value,
      ),
    );
    expect(matching).toHaveLength(1);
  });

  it('migrates with a one-off Job', () => {
    const job = find('Job', 'research-migrate');
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expectRunsBuiltFile(job.spec.template.spec.containers[0].command, 'cli', ['migrate']);
  });

  const kubectl = spawnSync('kubectl', ['version', '--client']);
  (kubectl.error ? it.skip : it)(
    kubectl.error ? 'kustomize build (SKIPPED: kubectl is not installed)' : 'builds with kubectl kustomize',
    () => {
      const run = spawnSync('kubectl', ['kustomize', BASE], { cwd: REPO_ROOT, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const kinds = parseAllDocuments(run.stdout).map((doc) => (doc.toJS() as Yaml).kind);
      expect(kinds.sort()).toEqual(
        [
          'ConfigMap',
          'Deployment',
          'Deployment',
          'HorizontalPodAutoscaler',
          'Job',
          'Namespace',
          'PodDisruptionBudget',
          'PodDisruptionBudget',
          'Service',
          'Service',
        ].sort(),
      );
    },
  );
});

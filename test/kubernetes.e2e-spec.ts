/**
 * The Kubernetes manifests as `kubectl apply -k` would send them (`kubectl kustomize` renders each
 * overlay), checked offline: every object against the published schema of its kind
 * (kubernetes-models, with its KEDA and Prometheus Operator packages), and against the application
 * it runs: the variables its configuration reads and their defaults, its ports, its probe paths,
 * its queue names, the alert rules and the measured memory of docs/benchmarks.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as kedaV1alpha1 from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { AppConfig, loadConfig, variablesRead } from '@app/config';
import { HealthModule } from '@app/observability';
import { RESEARCH_QUEUE, WEBHOOK_QUEUE } from '@app/research';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './support/monitoring-files';

type Yaml = Record<string, any>;

const BASE = 'k8s/base';
const DEV = 'k8s/overlays/dev';
const PRODUCTION = 'k8s/overlays/production';
const SCALE_TO_ZERO = 'k8s/components/scale-to-zero';
const NAMESPACE = 'deep-research';
/** Variables that only the backup CronJob's script reads (scripts/backup/pg-backup.sh), not the app. */
const BACKUP_ONLY_VARIABLES = new Set(['BACKUP_DIR']);
/** PostgreSQL's default max_connections (100) less superuser_reserved_connections (3). */
const POSTGRES_CONNECTIONS = 100 - 3;

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');

/** The model class of each kind, by apiVersion: a kind missing here fails validation. */
const MODELS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'batch/v1': batchV1,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'keda.sh/v1alpha1': kedaV1alpha1,
  'monitoring.coreos.com/v1': monitoringV1,
};

interface ModelClass {
  new (data: Yaml): { validate(): void };
  apiVersion: string;
  kind: string;
}

function modelOf(object: Yaml): ModelClass {
  const model = MODELS[object.apiVersion]?.[object.kind] as ModelClass | undefined;
  if (typeof model !== 'function' || model.apiVersion !== object.apiVersion || model.kind !== object.kind) {
    throw new Error(`no model for ${object.apiVersion} ${object.kind}: add its module to MODELS`);
  }
  return model;
}

/** Problems of each object, "Kind/name: message"; an object of a kind without a model is one. */
function schemaProblems(objects: Yaml[]): string[] {
  return objects.flatMap((object) => {
    try {
      new (modelOf(object))(object).validate();
      return [];
    } catch (error) {
      return [`${object.kind}/${object.metadata?.name}: ${(error as Error).message}`];
    }
  });
}

function kustomize(dir: string, cwd = REPO_ROOT): Yaml[] {
  const output = execFileSync('kubectl', ['kustomize', dir], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(output).map((document) => document.toJS() as Yaml);
}

/** The production overlay with the scale-to-zero component, built in a copy of k8s/ as an operator would. */
function kustomizeProductionScaledToZero(): Yaml[] {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-'));
  try {
    cpSync(join(REPO_ROOT, 'k8s'), join(dir, 'k8s'), { recursive: true });
    mkdirSync(join(dir, 'k8s/overlays/scaled-to-zero'));
    writeFileSync(
      join(dir, 'k8s/overlays/scaled-to-zero/kustomization.yaml'),
      'resources:\n  - ../production\ncomponents:\n  - ../../components/scale-to-zero\n',
    );
    return kustomize('k8s/overlays/scaled-to-zero', dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function find(objects: Yaml[], kind: string, name: string): Yaml {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

function configMapOf(objects: Yaml[]): Yaml {
  const maps = objects.filter(
    (object) => object.kind === 'ConfigMap' && object.metadata.name.startsWith('research-config'),
  );
  if (maps.length !== 1) throw new Error(`${maps.length} research-config ConfigMaps rendered, not 1`);
  return maps[0];
}

interface PodTemplate {
  owner: string;
  metadata: Yaml;
  spec: Yaml;
}

function podTemplates(objects: Yaml[]): PodTemplate[] {
  return objects.flatMap((object): PodTemplate[] => {
    const owner = `${object.kind}/${object.metadata.name}`;
    if (object.kind === 'Deployment' || object.kind === 'Job') return [{ owner, ...object.spec.template }];
    if (object.kind === 'CronJob') return [{ owner, ...object.spec.jobTemplate.spec.template }];
    return [];
  });
}

function selects(selector: Yaml, labels: Record<string, string>): boolean {
  const matchLabels = Object.entries((selector.matchLabels ?? {}) as Record<string, string>);
  const expressions = (selector.matchExpressions ?? []) as Yaml[];
  return (
    matchLabels.every(([key, value]) => labels[key] === value) &&
    expressions.every((expression) => {
      const value = labels[expression.key];
      switch (expression.operator) {
        case 'In':
          return (expression.values as string[]).includes(value);
        case 'NotIn':
          return !(expression.values as string[]).includes(value);
        case 'Exists':
          return value !== undefined;
        case 'DoesNotExist':
          return value === undefined;
        default:
          throw new Error(`unknown operator ${expression.operator}`);
      }
    })
  );
}

function bytes(quantity: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(String(quantity));
  if (!match) throw new Error(`not a memory quantity: ${quantity}`);
  const units: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 };
  return Number(match[1]) * (match[2] ? units[match[2]] : 1);
}

function isPinned(image: string): boolean {
  const [name, digest] = image.split('@');
  if (digest !== undefined) return /^sha256:[0-9a-f]{64}$/.test(digest);
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
  return /^[\w][\w.-]{0,127}$/.test(tag) && tag !== 'latest';
}

const SECRET_EXAMPLE = parse(read(`${BASE}/secret.example.yaml`)) as Yaml;
const SECRET_KEYS = Object.keys(SECRET_EXAMPLE.stringData as Record<string, string>);

/** The Secret's keys with values of the example's shape, and a password that is not a placeholder. */
function secretValues(): Record<string, string> {
  const values = { ...(SECRET_EXAMPLE.stringData as Record<string, string>) };
  const database = new URL(values.DATABASE_URL);
  database.password = 'Xk4-sQ9-cluster';
  values.DATABASE_URL = database.toString();
  return values;
}

/** The configuration the pods of a render start with: its ConfigMap and the Secret. */
function configOf(objects: Yaml[]): AppConfig {
  return loadConfig({ ...(configMapOf(objects).data as Record<string, string>), ...secretValues() });
}

const DOCKERFILE_FINAL_STAGE = (() => {
  const lines = read('Dockerfile')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line));
  const from = lines.map((line, index) => (/^FROM\s/i.test(line) ? index : -1)).filter((index) => index >= 0);
  return lines.slice(from.at(-1));
})();

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const hasKubectl = !kubectl.error && kubectl.status === 0;
if (!hasKubectl) {
  process.stderr.write(
    'kubectl is not installed: the Kubernetes manifest suite is skipped (kubectl with its built-in kustomize is needed)\n',
  );
}
const describeWithKubectl = hasKubectl ? describe : describe.skip;

describe('schema validation with kubernetes-models', () => {
  it('accepts a valid object and refuses an invalid one or an unknown kind', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'a' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { spec: { containers: [{ name: 'c', image: 'i:1' }] } },
      },
    };
    expect(schemaProblems([deployment])).toEqual([]);
    expect(schemaProblems([{ ...deployment, spec: { ...deployment.spec, replicas: 'two' } }])).toEqual([
      'Deployment/a: data/spec/replicas must be integer',
    ]);
    const scaledObject = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'w' } };
    expect(schemaProblems([{ ...scaledObject, spec: { scaleTargetRef: { name: 'w' }, triggers: [] } }])).toEqual([]);
    expect(schemaProblems([{ ...scaledObject, spec: { triggers: [] } }])).toEqual([
      'ScaledObject/w: data/spec must have required property scaleTargetRef',
    ]);
    expect(schemaProblems([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }])).toEqual([
      'Widget/w: no model for example.com/v1 Widget: add its module to MODELS',
    ]);
  });
});

describe('the probe paths the manifests use', () => {
  it('are served by the health module of both apps', async () => {
    const module = await Test.createTestingModule({ imports: [HealthModule.register({ checks: [] })] }).compile();
    const app = module.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    try {
      for (const url of ['/health', '/ready']) {
        const response = await app.getHttpAdapter().getInstance().inject({ method: 'GET', url });
        expect([url, response.statusCode]).toEqual([url, 200]);
      }
    } finally {
      await app.close();
    }
    for (const file of ['apps/api/src/api.module.ts', 'apps/worker/src/worker.module.ts']) {
      expect(read(file)).toMatch(/HealthModule\.register\(/);
    }
  });
});

describeWithKubectl('Kubernetes manifests', () => {
  const READ = variablesRead();
  const DEFAULTS = loadConfig({});
  const renders: Record<string, Yaml[]> = {
    [BASE]: kustomize(BASE),
    [DEV]: kustomize(DEV),
    [PRODUCTION]: kustomize(PRODUCTION),
    [`${PRODUCTION} + ${SCALE_TO_ZERO}`]: kustomizeProductionScaledToZero(),
  };
  const ALL = Object.keys(renders);
  const OVERLAYS = ALL.filter((name) => name !== BASE);
  const production = renders[PRODUCTION];
  const dev = renders[DEV];

  describe.each(ALL)('%s', (name) => {
    const objects = renders[name];
    const config = configOf(objects);
    const configMap = configMapOf(objects);

    it('builds with kubectl kustomize, and every object validates against its schema', () => {
      expect(objects.length).toBeGreaterThan(5);
      expect(schemaProblems(objects)).toEqual([]);
    });

    it('pins every image to a tag other than latest, or a digest', () => {
      for (const { owner, spec } of podTemplates(objects)) {
        for (const container of [...(spec.initContainers ?? []), ...spec.containers] as Yaml[]) {
          expect([owner, container.image, isPinned(container.image)]).toEqual([owner, container.image, true]);
        }
      }
      expect(['nginx', 'nginx:latest', 'nginx:', 'registry:5000/nginx'].filter(isPinned)).toEqual([]);
      expect(['nginx:1.27', 'registry:5000/nginx:1.27', `nginx@sha256:${'a'.repeat(64)}`].every(isPinned)).toBe(true);
    });

    it('starts with a configuration the app loads as production, with the default ports', () => {
      expect(config.nodeEnv).toBe('production');
      expect([config.port, config.workerPort]).toEqual([DEFAULTS.port, DEFAULTS.workerPort]);
    });

    it('sets only variables the configuration reads; BACKUP_DIR only on the backup', () => {
      for (const key of Object.keys(configMap.data)) expect([key, READ.has(key)]).toEqual([key, true]);
      for (const key of SECRET_KEYS) expect([key, READ.has(key)]).toEqual([key, true]);
      for (const { owner, spec } of podTemplates(objects)) {
        for (const container of spec.containers as Yaml[]) {
          const names = [
            ...((container.env ?? []) as Yaml[]).map((env) => env.name as string),
            ...((container.envFrom ?? []) as Yaml[]).flatMap((source): string[] => {
              if (source.configMapRef) return Object.keys(find(objects, 'ConfigMap', source.configMapRef.name).data);
              expect(source.secretRef?.name).toBe(SECRET_EXAMPLE.metadata.name);
              return SECRET_KEYS;
            }),
          ];
          for (const variable of names) {
            const allowed =
              READ.has(variable) || (owner === 'CronJob/research-backup' && BACKUP_ONLY_VARIABLES.has(variable));
            expect([owner, variable, allowed]).toEqual([owner, variable, true]);
          }
          for (const env of (container.env ?? []) as Yaml[]) {
            const ref = env.valueFrom?.secretKeyRef;
            if (ref) expect([ref.name, SECRET_KEYS.includes(ref.key)]).toEqual([SECRET_EXAMPLE.metadata.name, true]);
          }
        }
      }
    });

    it('runs every container unprivileged, as non-root, on a read-only root filesystem with a writable /tmp', () => {
      for (const { owner, spec } of podTemplates(objects)) {
        expect([owner, spec.automountServiceAccountToken]).toEqual([owner, false]);
        expect([owner, spec.securityContext.seccompProfile]).toEqual([owner, { type: 'RuntimeDefault' }]);
        for (const container of spec.containers as Yaml[]) {
          const context = { ...spec.securityContext, ...container.securityContext };
          expect([owner, context.runAsNonRoot, context.runAsUser]).toEqual([owner, true, 1000]);
          expect([owner, container.securityContext]).toEqual([
            owner,
            { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          ]);
          const tmp = (container.volumeMounts as Yaml[]).find((mount) => mount.mountPath === '/tmp');
          expect([owner, (spec.volumes as Yaml[]).find((volume) => volume.name === tmp?.name)?.emptyDir]).toEqual([
            owner,
            expect.any(Object),
          ]);
          expect([owner, bytes(container.resources.requests.memory) > 0]).toEqual([owner, true]);
          expect(bytes(container.resources.limits.memory)).toBeGreaterThanOrEqual(
            bytes(container.resources.requests.memory),
          );
        }
      }
    });

    it.each([
      ['research-api', 'api', 'port'],
      ['research-worker', 'worker', 'workerPort'],
    ] as const)(
      '%s probes /health and /ready on its %s port, and stops after a preStop sleep',
      (deployment, app, port) => {
        const { spec } = find(objects, 'Deployment', deployment).spec.template;
        expect(spec.containers).toHaveLength(1);
        const [container] = spec.containers as Yaml[];
        expect(container.command).toEqual(['node', `dist/apps/${app}/src/main.js`]);
        const portOf = (probe: Yaml) =>
          typeof probe.httpGet.port === 'number'
            ? probe.httpGet.port
            : (container.ports as Yaml[]).find((p) => p.name === probe.httpGet.port)?.containerPort;
        const probes = { startupProbe: '/health', livenessProbe: '/health', readinessProbe: '/ready' };
        for (const [probe, path] of Object.entries(probes)) {
          expect([probe, container[probe].httpGet.path, portOf(container[probe])]).toEqual([probe, path, config[port]]);
        }
        const [sleep, seconds] = container.lifecycle.preStop.exec.command as string[];
        expect(sleep).toBe('sleep');
        const preStopMs = Number(seconds) * 1000;
        expect(preStopMs).toBeGreaterThan(0);
        expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
          preStopMs + config.shutdownTimeoutMs + config.shutdownReadyDelayMs,
        );
      },
    );

    it('runs the migrations in a Job with the rendered configuration', () => {
      const job = find(objects, 'Job', 'research-migrate');
      const { spec } = job.spec.template;
      expect(spec.restartPolicy).toBe('Never');
      expect(spec.containers[0].command).toEqual(['node', 'dist/apps/cli/src/main.js', 'migrate']);
      expect(spec.containers[0].envFrom).toEqual([
        { configMapRef: { name: configMap.metadata.name } },
        { secretRef: { name: SECRET_EXAMPLE.metadata.name } },
      ]);
      expect(job.spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
    });
  });

  describe.each(OVERLAYS)('%s', (name) => {
    const objects = renders[name];

    it('runs every pod under the research ServiceAccount, which has no API token', () => {
      expect(find(objects, 'ServiceAccount', 'research').automountServiceAccountToken).toBe(false);
      for (const { owner, spec } of podTemplates(objects)) {
        expect([owner, spec.serviceAccountName]).toEqual([owner, 'research']);
      }
    });
  });

  it('runs on a Debian-based image, which has the sh and sleep the manifests run', () => {
    const [from] = DOCKERFILE_FINAL_STAGE;
    expect(from).toMatch(/^FROM\s+node:\d+-(bookworm|trixie)(-slim)?(\s|$)/);
  });

  describe('dev overlay', () => {
    it('runs one api and one worker in their own namespace, with no autoscaler or disruption budget', () => {
      const namespaced = dev.filter((object) => object.kind !== 'Namespace');
      expect(new Set(namespaced.map((object) => object.metadata.namespace))).toEqual(new Set(['deep-research-dev']));
      expect(find(dev, 'Namespace', 'deep-research-dev')).toBeDefined();
      expect(find(dev, 'Deployment', 'research-api').spec.replicas).toBe(1);
      expect(find(dev, 'Deployment', 'research-worker').spec.replicas).toBe(1);
      expect(dev.map((object) => object.kind).sort()).toEqual(
        ['ConfigMap', 'Deployment', 'Deployment', 'Job', 'Namespace', 'Service', 'Service', 'ServiceAccount'].sort(),
      );
    });
  });

  describe('production overlay', () => {
    const config = configOf(production);
    const prefix = configMapOf(production).data.QUEUE_PREFIX as string;
    const labelsOf = (owner: string) => podTemplates(production).find((t) => t.owner === owner)!.metadata.labels;

    it('lists every manifest of its folder but the examples, and renders every kind it needs', () => {
      const kustomization = parse(read(`${PRODUCTION}/kustomization.yaml`)) as Yaml;
      const files = readdirSync(join(REPO_ROOT, PRODUCTION)).filter(
        (file) => file.endsWith('.yaml') && file !== 'kustomization.yaml' && !file.endsWith('.example.yaml'),
      );
      expect((kustomization.resources as string[]).filter((r) => r.endsWith('.yaml')).sort()).toEqual(files.sort());
      expect([...new Set(production.map((object) => object.kind))].sort()).toEqual(
        [
          'ConfigMap',
          'CronJob',
          'Deployment',
          'HorizontalPodAutoscaler',
          'Ingress',
          'Job',
          'Namespace',
          'NetworkPolicy',
          'PersistentVolumeClaim',
          'PodDisruptionBudget',
          'PrometheusRule',
          'ScaledObject',
          'Service',
          'ServiceAccount',
          'ServiceMonitor',
          'TriggerAuthentication',
        ].sort(),
      );
      for (const object of production.filter((o) => o.kind !== 'Namespace')) {
        expect([object.kind, object.metadata.name, object.metadata.namespace]).toEqual([
          object.kind,
          object.metadata.name,
          NAMESPACE,
        ]);
      }
    });

    it('leaves the replica counts to the autoscalers: the api on CPU, the workers on the queue', () => {
      for (const name of ['research-api', 'research-worker']) {
        expect([name, find(production, 'Deployment', name).spec.replicas]).toEqual([name, undefined]);
      }
      const hpa = find(production, 'HorizontalPodAutoscaler', 'research-api');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'research-api' });
      expect(hpa.spec.metrics).toEqual([
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      ]);
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      const scaled = find(production, 'ScaledObject', 'research-worker');
      expect(scaled.spec.scaleTargetRef).toEqual({ name: 'research-worker' });
      expect(find(production, 'Deployment', scaled.spec.scaleTargetRef.name)).toBeDefined();
      expect(scaled.spec.minReplicaCount).toBe(1);
      expect(scaled.spec.maxReplicaCount).toBeGreaterThan(1);
    });

    it("scales the workers on Bull's lists of the configured queue prefix and queue names", () => {
      const scaled = find(production, 'ScaledObject', 'research-worker');
      const triggers = scaled.spec.triggers as Yaml[];
      const list = (queue: string, name: string) => `${prefix}:${queue}:${name}`;
      expect(prefix).toBe(DEFAULTS.queuePrefix);
      expect(triggers.map((trigger) => [trigger.type, trigger.metadata.listName])).toEqual([
        ['redis', list(RESEARCH_QUEUE, 'wait')],
        ['redis', list(RESEARCH_QUEUE, 'active')],
        ['redis', list(WEBHOOK_QUEUE, 'wait')],
      ]);
      // A worker for every QUEUE_CONCURRENCY running researches.
      expect(Number(triggers[1].metadata.listLength)).toBe(config.queueConcurrency);
      const database = new URL(secretValues().REDIS_URL).pathname.slice(1) || '0';
      for (const trigger of triggers) {
        expect(trigger.metadata.databaseIndex).toBe(database);
        expect(Number(trigger.metadata.listLength)).toBeGreaterThan(0);
        const auth = find(production, 'TriggerAuthentication', trigger.authenticationRef.name);
        expect((auth.spec.secretTargetRef as Yaml[]).map((ref) => ref.parameter).sort()).toEqual([
          'address',
          'password',
        ]);
      }
      // The KEDA Secret's example points at the same Redis as REDIS_URL, as host:port.
      const kedaSecret = parse(read(`${PRODUCTION}/keda-redis-secret.example.yaml`)) as Yaml;
      const auth = find(production, 'TriggerAuthentication', triggers[0].authenticationRef.name);
      for (const ref of auth.spec.secretTargetRef as Yaml[]) {
        expect(ref.name).toBe(kedaSecret.metadata.name);
        expect(Object.keys(kedaSecret.stringData)).toContain(ref.key);
      }
      const redis = new URL(secretValues().REDIS_URL);
      expect(kedaSecret.stringData.address).toBe(`${redis.hostname}:${redis.port}`);
    });

    it('lets KEDA stop every worker only with the scale-to-zero component', () => {
      const scaledToZero = renders[`${PRODUCTION} + ${SCALE_TO_ZERO}`];
      expect(find(scaledToZero, 'ScaledObject', 'research-worker').spec.minReplicaCount).toBe(0);
      const others = (objects: Yaml[]) => objects.filter((object) => object.kind !== 'ScaledObject');
      expect(others(scaledToZero)).toEqual(others(production));
    });

    it("keeps PostgreSQL's connections enough for the most pods the autoscalers and rollouts run", () => {
      const surge = (name: string) =>
        find(production, 'Deployment', name).spec.strategy.rollingUpdate.maxSurge as number;
      const pods =
        find(production, 'HorizontalPodAutoscaler', 'research-api').spec.maxReplicas +
        surge('research-api') +
        find(production, 'ScaledObject', 'research-worker').spec.maxReplicaCount +
        surge('research-worker') +
        1; // the migration Job
      // Each pod: its pool and one connection for event notifications. The backup: one.
      expect(pods * (config.dbPoolSize + 1) + 1).toBeLessThanOrEqual(POSTGRES_CONNECTIONS);
    });

    it('sizes memory from the figures of docs/benchmarks.md', () => {
      const doc = read('docs/benchmarks.md');
      const section = doc.slice(doc.indexOf('## Memory of the api and the worker'));
      const rows = [...section.matchAll(/^\| \d+, `QUEUE_CONCURRENCY=(\d+)` \| (api|worker) \| (.+) \|$/gm)].map(
        (match) => ({
          concurrency: Number(match[1]),
          process: match[2],
          cells: match[3].split(' | ').map((cell) => bytes(cell.replace(' MiB', 'Mi'))),
        }),
      );
      expect(rows.length).toBeGreaterThanOrEqual(4);
      for (const app of ['api', 'worker']) {
        const measured = rows.filter(
          (row) => row.process === app && (app === 'api' || row.concurrency === config.queueConcurrency),
        );
        expect(measured.length).toBeGreaterThanOrEqual(2);
        const atRest = Math.max(...measured.map((row) => row.cells[0]));
        const peak = Math.max(...measured.map((row) => Math.max(...row.cells)));
        const { resources } = find(production, 'Deployment', `research-${app}`).spec.template.spec.containers[0];
        expect(bytes(resources.requests.memory)).toBeGreaterThan(atRest);
        expect(bytes(resources.limits.memory)).toBeGreaterThan(peak * 1.5);
      }
    });

    it('covers the api and the workers with disruption budgets that still let nodes drain', () => {
      const budgets = production.filter((object) => object.kind === 'PodDisruptionBudget');
      for (const owner of ['Deployment/research-api', 'Deployment/research-worker']) {
        expect([owner, budgets.filter((pdb) => selects(pdb.spec.selector, labelsOf(owner))).length]).toEqual([
          owner,
          1,
        ]);
      }
      const minApi = find(production, 'HorizontalPodAutoscaler', 'research-api').spec.minReplicas;
      expect(find(production, 'PodDisruptionBudget', 'research-api').spec.minAvailable).toBeLessThan(minApi);
      expect(find(production, 'PodDisruptionBudget', 'research-worker').spec.maxUnavailable).toBeGreaterThanOrEqual(1);
    });

    describe('network policies', () => {
      const policies = production.filter((object) => object.kind === 'NetworkPolicy');
      const owners = podTemplates(production).map((template) => template.owner);
      const policiesOf = (owner: string, type: 'Ingress' | 'Egress') =>
        policies.filter(
          (policy) =>
            selects(policy.spec.podSelector, labelsOf(owner)) && (policy.spec.policyTypes as string[]).includes(type),
        );
      const ports = (rules: Yaml[]) =>
        rules.flatMap((rule) => (rule.ports as Yaml[]).map((port) => `${port.port}/${port.protocol}`)).sort();
      const databasePort = new URL(secretValues().DATABASE_URL).port;
      const redisPort = new URL(secretValues().REDIS_URL).port;

      it('deny every connection of every pod that no policy allows', () => {
        expect(owners.sort()).toEqual(
          [
            'CronJob/research-backup',
            'Deployment/research-api',
            'Deployment/research-worker',
            'Job/research-migrate',
          ].sort(),
        );
        const deny = find(production, 'NetworkPolicy', 'research-default-deny');
        expect(deny.spec.policyTypes).toEqual(['Ingress', 'Egress']);
        expect([deny.spec.ingress, deny.spec.egress]).toEqual([undefined, undefined]);
        for (const owner of owners)
          expect([owner, selects(deny.spec.podSelector, labelsOf(owner))]).toEqual([owner, true]);
      });

      it('let in only the ingress controller to the api, and Prometheus to the api and worker metrics ports', () => {
        const prometheus = {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
        };
        const ingressController = {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
        };
        const allowed = (owner: string) =>
          policiesOf(owner, 'Ingress').flatMap((policy) =>
            ((policy.spec.ingress ?? []) as Yaml[]).map((rule) => ({ from: rule.from, ports: ports([rule]) })),
          );
        expect(allowed('Deployment/research-api')).toEqual([
          { from: [ingressController], ports: [`${config.port}/TCP`] },
          { from: [prometheus], ports: [`${config.port}/TCP`] },
        ]);
        expect(allowed('Deployment/research-worker')).toEqual([
          { from: [prometheus], ports: [`${config.workerPort}/TCP`] },
        ]);
        expect(allowed('Job/research-migrate')).toEqual([]);
        expect(allowed('CronJob/research-backup')).toEqual([]);
      });

      it('let out only DNS, PostgreSQL, Redis, and from the worker the LLM and the public web', () => {
        const egress = (owner: string) =>
          policiesOf(owner, 'Egress').flatMap((policy) => (policy.spec.egress ?? []) as Yaml[]);
        for (const owner of owners) {
          for (const rule of egress(owner)) {
            // A rule without peers or ports would let out everything.
            expect([owner, (rule.to ?? []).length > 0, (rule.ports ?? []).length > 0]).toEqual([owner, true, true]);
          }
        }
        const stores = ['53/TCP', '53/UDP', `${databasePort}/TCP`];
        expect(ports(egress('Job/research-migrate'))).toEqual(stores.sort());
        expect(ports(egress('CronJob/research-backup'))).toEqual(stores.sort());
        expect(ports(egress('Deployment/research-api'))).toEqual([...stores, `${redisPort}/TCP`].sort());
        expect(ports(egress('Deployment/research-worker'))).toEqual(
          [...stores, `${redisPort}/TCP`, '8000/TCP', '80/TCP', '443/TCP'].sort(),
        );
        const web = find(production, 'NetworkPolicy', 'research-worker-egress-web').spec.egress[0].to as Yaml[];
        expect(web[0].ipBlock.cidr).toBe('0.0.0.0/0');
        expect(web[0].ipBlock.except).toEqual(
          expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '127.0.0.0/8']),
        );
        expect(web[1].ipBlock).toEqual({ cidr: '::/0', except: ['fc00::/7', 'fe80::/10'] });
      });
    });

    it('has Prometheus Operator scrape the api and the worker as the jobs api and worker', () => {
      const jobs = (parse(read('monitoring/prometheus.yml')) as Yaml).scrape_configs.map((job: Yaml) => job.job_name);
      for (const [app, port] of [
        ['api', config.port],
        ['worker', config.workerPort],
      ] as const) {
        const monitor = find(production, 'ServiceMonitor', `research-${app}`);
        const services = production.filter(
          (object) => object.kind === 'Service' && selects(monitor.spec.selector, object.metadata.labels),
        );
        expect(services.map((service) => service.metadata.name)).toEqual([`research-${app}`]);
        const [service] = services;
        expect(service.metadata.labels[monitor.spec.jobLabel]).toBe(app);
        expect(jobs).toContain(app);
        const [endpoint] = monitor.spec.endpoints as Yaml[];
        expect(endpoint).toMatchObject({ path: '/metrics', honorLabels: true, interval: '15s' });
        const servicePort = (service.spec.ports as Yaml[]).find((p) => p.name === endpoint.port);
        expect(servicePort?.port).toBe(port);
      }
    });

    it('carries the alert rules of monitoring/alerts as a PrometheusRule, regenerated by the script', () => {
      const rule = find(production, 'PrometheusRule', 'research-alerts');
      const source = parse(read('monitoring/alerts/research.rules.yml')) as Yaml;
      expect(isDeepStrictEqual(rule.spec.groups, source.groups)).toBe(true);
      const check = spawnSync(process.execPath, ['scripts/generate-prometheus-rule.mjs', '--check'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
      expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({
        status: 0,
        output: expect.stringContaining('matches'),
      });
    });

    it('serves the API through an Ingress over HTTPS only, with a cert-manager certificate', () => {
      const ingress = find(production, 'Ingress', 'research-api');
      const annotations = ingress.metadata.annotations as Record<string, string>;
      expect(annotations['cert-manager.io/cluster-issuer'] ?? annotations['cert-manager.io/issuer']).toBeTruthy();
      expect(annotations['nginx.ingress.kubernetes.io/ssl-redirect']).toBe('true');
      expect(annotations['nginx.ingress.kubernetes.io/force-ssl-redirect']).toBe('true');
      const hosts = (ingress.spec.rules as Yaml[]).map((rule) => rule.host);
      expect((ingress.spec.tls as Yaml[]).flatMap((tls) => tls.hosts)).toEqual(hosts);
      expect(ingress.spec.tls[0].secretName).toBeTruthy();
      const paths = (ingress.spec.rules as Yaml[]).flatMap((rule) => rule.http.paths as Yaml[]);
      expect(paths.map((path) => path.path)).toEqual(['/api', '/docs', '/docs-json']);
      for (const path of paths) {
        expect(path.backend.service.name).toBe('research-api');
        const port = (find(production, 'Service', 'research-api').spec.ports as Yaml[]).find(
          (p) => p.name === path.backend.service.port.name,
        );
        expect(port).toBeDefined();
      }
      // Bigger than the api's own limit for a document upload (2 x DOCUMENT_MAX_BYTES + 64 KiB).
      const bodySize = annotations['nginx.ingress.kubernetes.io/proxy-body-size'].replace(/m$/, 'Mi');
      expect(bytes(bodySize)).toBeGreaterThan(config.documentMaxBytes * 2 + 64 * 1024);
    });

    it('backs the database up nightly with the backup script of the image into the research-backups volume', () => {
      const cron = find(production, 'CronJob', 'research-backup');
      expect(cron.spec.concurrencyPolicy).toBe('Forbid');
      const { spec } = cron.spec.jobTemplate.spec.template;
      expect(spec.restartPolicy).toBe('Never');
      const [container] = spec.containers as Yaml[];
      expect(container.command).toEqual(['sh', 'scripts/backup/pg-backup.sh']);
      const workdir = DOCKERFILE_FINAL_STAGE.filter((line) => /^WORKDIR\s/i.test(line))
        .at(-1)
        ?.split(/\s+/)[1];
      expect(container.workingDir).toBe(workdir);
      const env = Object.fromEntries((container.env as Yaml[]).map((e) => [e.name, e]));
      expect(env.DATABASE_URL.valueFrom.secretKeyRef).toEqual({
        name: SECRET_EXAMPLE.metadata.name,
        key: 'DATABASE_URL',
      });
      const mount = (container.volumeMounts as Yaml[]).find((m) => m.mountPath === env.BACKUP_DIR.value);
      const volume = (spec.volumes as Yaml[]).find((v) => v.name === mount?.name);
      expect(env.BACKUP_DIR.value).toBe('/backups');
      expect(volume?.persistentVolumeClaim.claimName).toBe('research-backups');
      expect(find(production, 'PersistentVolumeClaim', 'research-backups').spec.accessModes).toEqual(['ReadWriteOnce']);
      expect(spec.securityContext.fsGroup).toBe(1000);
    });
  });
});

const yamllint = spawnSync('yamllint', ['--version']);
const hasYamllint = !yamllint.error && yamllint.status === 0;
if (!hasYamllint) {
  process.stderr.write(
    'yamllint is not installed: the manifests are not linted (Debian: apt-get install yamllint; CI installs it)\n',
  );
}

describe('yamllint', () => {
  (hasYamllint ? it : it.skip)(
    hasYamllint
      ? 'passes on the manifests with .yamllint'
      : 'passes on the manifests (SKIPPED: yamllint is not installed)',
    () => {
      const run = spawnSync('yamllint', ['--strict', 'k8s', '.yamllint'], { cwd: REPO_ROOT, encoding: 'utf8' });
      expect({ status: run.status, output: run.stdout + run.stderr }).toEqual({ status: 0, output: '' });
    },
  );
});

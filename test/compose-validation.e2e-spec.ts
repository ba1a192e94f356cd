/**
 * The deployment files through real validators, offline: the Compose file against the Compose
 * specification's schema and dclint's rules, the Dockerfile through dockerfile-utils, every YAML
 * file through yamllint; and the Compose file against the service itself: the variables it sets
 * are read by the configuration schema, which accepts them, and the ports and probe paths are
 * where the apps answer.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { ConfigError, loadConfig, variablesRead } from '@app/config';
import { TestStack, freePort } from '@app/testing';
import { REPO_ROOT } from './support/monitoring-files';

type Yaml = Record<string, any>;

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');
/** As Compose reads it: YAML merge keys (`<<: *app`) resolved. */
const compose = parse(read('docker-compose.yml'), { merge: true }) as Yaml;
const services = compose.services as Record<string, Yaml>;
const APP_SERVICES = ['migrate', 'api', 'worker'];
/** What an operator sets in .env before `docker compose up`. */
const COMPOSE_ENV: Record<string, string> = { POSTGRES_PASSWORD: 'Xk4-sQ9-local' };

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$`. */
function interpolate(value: string, env: Record<string, string>): string {
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

function interpolateAll(node: unknown, env: Record<string, string>): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((item) => interpolateAll(item, env));
  if (node && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateAll(value, env)]));
  return node;
}

function appEnvironment(name: string, env: Record<string, string> = COMPOSE_ENV): Record<string, string> {
  return interpolateAll(services[name].environment, env) as Record<string, string>;
}

function containerPorts(service: Yaml): number[] {
  return ((service.ports ?? []) as string[]).map((entry) => Number(entry.split(':').at(-1)));
}

function healthcheckUrl(service: Yaml): URL {
  const url = (service.healthcheck.test as string[]).find((word) => word.startsWith('http://'));
  if (!url) throw new Error('no URL in the healthcheck');
  return new URL(url);
}

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim(), error: result.error };
}

describe('docker-compose.yml against the Compose specification (the schema dclint ships)', () => {
  // Draft 7, which Ajv speaks by default; its `$schema` names the meta-schema by an https URL
  // Ajv does not know it by, so it is left out.
  const { $schema, ...schema } = JSON.parse(read('node_modules/dclint/schemas/compose.schema.json')) as Yaml;
  const validate = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema);

  it('is the Compose specification, draft 7', () => {
    expect([$schema, schema.title]).toEqual(['https://json-schema.org/draft-07/schema', 'Compose Specification']);
  });

  it('is valid, as written and once Compose has filled in its variables', () => {
    expect([validate(compose), validate.errors ?? []]).toEqual([true, []]);
    const filled = interpolateAll(compose, COMPOSE_ENV);
    expect([validate(filled), validate.errors ?? []]).toEqual([true, []]);
  });

  it('would catch a misspelt key (the validation is real)', () => {
    const broken = structuredClone(compose);
    broken.services.api.restrat = broken.services.api.restart;
    expect(validate(broken)).toBe(false);
  });
});

describe('linters of the deployment files', () => {
  it('passes dclint with no error and no warning', () => {
    const result = run(join(REPO_ROOT, 'node_modules/.bin/dclint'), ['docker-compose.yml', '--max-warnings', '0']);
    expect({ status: result.status, output: result.output }).toEqual({ status: 0, output: '' });
  });

  it('passes dockerfile-utils lint with nothing to report', () => {
    const result = run(join(REPO_ROOT, 'node_modules/.bin/dockerfile-utils'), ['lint', 'Dockerfile']);
    // dockerfile-utils exits 0 on warnings too: what it prints is the verdict.
    expect({ status: result.status, output: result.output }).toEqual({ status: 0, output: '' });
  });

  const yamllint = spawnSync('yamllint', ['--version']);
  if (yamllint.error) {
    process.stderr.write(
      'yamllint is not installed: the YAML lint test is skipped (Debian: apt-get install yamllint; CI installs it)\n',
    );
  }
  (yamllint.error ? it.skip : it)(
    yamllint.error
      ? 'yamllint (SKIPPED: yamllint is not installed; apt-get install yamllint)'
      : 'passes yamllint --strict on every YAML file, with the repository .yamllint',
    () => {
      const result = run('yamllint', ['--strict', '-f', 'parsable', '.']);
      expect({ status: result.status, output: result.output }).toEqual({ status: 0, output: '' });
    },
  );

  it('pins every image to a version (no floating or missing tag); the apps run the image built here', () => {
    for (const [name, service] of Object.entries(services)) {
      const image = String(service.image);
      if (APP_SERVICES.includes(name)) {
        expect([name, image, service.build, service.pull_policy]).toEqual([
          name,
          'deep-research-service:local',
          '.',
          'build',
        ]);
        continue;
      }
      const tag = /^[\w./-]+:([\w.-]+)$/.exec(image)?.[1] ?? '';
      expect([name, image, /^v?\d+\.\d+/.test(tag)]).toEqual([name, image, true]);
    }
  });
});

describe('docker-compose.yml against the configuration schema (libs/config)', () => {
  const READ = variablesRead();

  it('sets on the apps only variables the configuration reads', () => {
    for (const name of APP_SERVICES) {
      for (const key of Object.keys(services[name].environment as Yaml))
        expect([name, key, READ.has(key)]).toEqual([name, key, true]);
    }
  });

  it('gives the apps a configuration production accepts, and none with an example password', () => {
    for (const name of APP_SERVICES) {
      const config = loadConfig(appEnvironment(name));
      expect([name, config.nodeEnv]).toEqual([name, 'production']);
      expect(() => loadConfig(appEnvironment(name, { POSTGRES_PASSWORD: 'password' }))).toThrow(ConfigError);
      expect(() => appEnvironment(name, {})).toThrow('POSTGRES_PASSWORD is required');
    }
  });

  it.each([
    ['api', 'port'],
    ['worker', 'workerPort'],
  ] as const)('publishes and probes %s on the port its configuration listens on', (name, setting) => {
    const port = loadConfig(appEnvironment(name))[setting];
    expect(containerPorts(services[name])).toEqual([port]);
    expect(Number(healthcheckUrl(services[name]).port)).toBe(port);
  });

  it('reads every variable of its own from .env or the shell, each documented in docs/deployment.md', () => {
    const deployment = read('docs/deployment.md');
    const used = new Set([...read('docker-compose.yml').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((match) => match[1]));
    for (const name of used) {
      // Either a setting of the apps, or Compose's own, listed in the deployment guide.
      expect([name, READ.has(name) || deployment.includes(`\`${name}\``)]).toEqual([name, true]);
    }
  });

  describe('the profiles, as docs/deployment.md sets them up in .env', () => {
    const deployment = read('docs/deployment.md');
    const PROFILE_SETTINGS = {
      search: { SEARCH_PROVIDERS: 'corpus,searxng', SEARXNG_URL: 'http://searxng:8080' },
      llm: { LLM_BASE_URL: 'http://ollama:11434/v1', LLM_MODEL: 'qwen2.5:7b' },
    };

    it.each(Object.entries(PROFILE_SETTINGS))('%s: documented, and accepted by the configuration', (_, settings) => {
      for (const [name, value] of Object.entries(settings)) expect(deployment).toContain(`${name}=${value}`);
      expect(() => loadConfig({ ...appEnvironment('worker'), ...settings })).not.toThrow();
    });

    it('search: points the apps at the SearXNG container, which serves its JSON API', () => {
      const url = new URL(PROFILE_SETTINGS.search.SEARXNG_URL);
      expect(services[url.hostname].profiles).toEqual(['search']);
      expect(containerPorts(services[url.hostname])).toEqual([Number(url.port)]);
      expect(Number(healthcheckUrl(services.searxng).port)).toBe(Number(url.port));
      const mount = (services.searxng.volumes as string[]).find((volume) =>
        volume.includes('/etc/searxng/settings.yml'),
      );
      const settings = parse(read(mount!.split(':')[0])) as Yaml;
      expect(settings.search.formats).toEqual(expect.arrayContaining(['html', 'json']));
      // The placeholder SearXNG refuses: without a SEARXNG_SECRET of one's own it does not start.
      expect(settings.server.secret_key).toBe('ultrasecretkey');
      expect(interpolate(services.searxng.environment.SEARXNG_SECRET, {})).toBe('ultrasecretkey');
    });

    it('llm: points the apps at the Ollama container, and pulls the model they ask for', () => {
      const url = new URL(PROFILE_SETTINGS.llm.LLM_BASE_URL);
      expect(services[url.hostname].profiles).toEqual(['llm']);
      expect(containerPorts(services[url.hostname])).toEqual([Number(url.port)]);
      const pull = services['llm-pull'];
      expect(pull.profiles).toEqual(['llm']);
      expect(pull.environment.OLLAMA_HOST).toBe(`http://${url.hostname}:${url.port}`);
      expect(pull.depends_on).toEqual({ [url.hostname]: { condition: 'service_healthy' } });
      expect((pull.command as string[]).map((word) => interpolate(word, {}))).toEqual([
        'pull',
        PROFILE_SETTINGS.llm.LLM_MODEL,
      ]);
      expect((pull.command as string[]).map((word) => interpolate(word, { LLM_MODEL: 'llama3.1:8b' }))).toEqual([
        'pull',
        'llama3.1:8b',
      ]);
    });

    it('leaves the profiles out of the apps’ own environment, so they start without them', () => {
      for (const name of APP_SERVICES) {
        const env = services[name].environment as Yaml;
        for (const key of ['SEARCH_PROVIDERS', 'SEARXNG_URL', 'LLM_BASE_URL'])
          expect([name, key, key in env]).toEqual([name, key, false]);
        expect(Object.keys(services[name].depends_on ?? {})).not.toEqual(expect.arrayContaining(['searxng', 'ollama']));
      }
    });
  });

  describe('the probe paths, served by the real apps', () => {
    let stack: TestStack;

    beforeAll(async () => {
      stack = await TestStack.create({ label: 'compose-probes' });
      await stack.startApi();
    });

    afterAll(async () => {
      await stack?.teardown();
    });

    it.each([['api'], ['worker']])('%s answers its Compose healthcheck path with 200', async (name) => {
      const path = healthcheckUrl(services[name]).pathname;
      expect(path).toBe('/health');
      let port = stack.apiPort;
      if (name === 'worker') {
        port = await freePort();
        await stack.startWorker({ WORKER_PORT: String(port) });
      }
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      expect([name, path, response.status]).toEqual([name, path, 200]);
    });
  });
});

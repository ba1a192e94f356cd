import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { entryPoint } from '@app/testing';

/** Packages the api imports only through libraries it shares with the worker, and never runs. */
const WORKER_ONLY = ['linkedom', '@mozilla/readability', 'html-to-text', 'undici'];

/**
 * The packages in the module cache once the built api's root module is loaded, with `env` as its
 * configuration. Loading the module evaluates every import of the api, as starting it does.
 */
function packagesLoaded(env: Record<string, string>): string[] {
  const apiModule = join(dirname(entryPoint('api')), 'api.module.js');
  const script = `
    require(${JSON.stringify(apiModule)});
    const names = new Set();
    for (const file of Object.keys(require.cache)) {
      const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file.slice(file.lastIndexOf('node_modules/')));
      if (match) names.add(match[1]);
    }
    process.stdout.write(JSON.stringify([...names]));`;
  const result = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as string[];
}

/**
 * The api holds in its heap only what it runs: every module it loads is marked at each full
 * collection, and its pauses grow with them. HTML extraction and the outbound HTTP client (a
 * webhook, a page, a search provider's API) are loaded on first use, which only the worker
 * makes; Bull Board only when the queue dashboard is enabled.
 */
describe('modules the api loads', () => {
  it('leaves out HTML extraction, the outbound HTTP client and, while the dashboard is off, Bull Board', () => {
    const loaded = packagesLoaded({ QUEUE_DASHBOARD_ENABLED: 'false' });
    expect(loaded).toEqual(expect.arrayContaining(['@nestjs/core', 'fastify', 'pg', 'bull']));
    expect(loaded.filter((name) => WORKER_ONLY.includes(name) || name.startsWith('@bull-board/'))).toEqual([]);
  });

  it('loads Bull Board when the queue dashboard is enabled', () => {
    const loaded = packagesLoaded({ QUEUE_DASHBOARD_ENABLED: 'true' });
    expect(loaded).toEqual(expect.arrayContaining(['@bull-board/api', '@bull-board/fastify', '@bull-board/nestjs']));
    expect(loaded.filter((name) => WORKER_ONLY.includes(name))).toEqual([]);
  });
});

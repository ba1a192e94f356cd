/**
 * The deployment and operations documents stay true to the repository: the configuration
 * reference is the one generated from the schema now.
 */
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './support/monitoring-files';

describe('docs/deployment.md', () => {
  it('has the configuration reference generated from the schema as it is now', () => {
    const result = spawnSync(process.execPath, ['scripts/generate-config-reference.mjs', '--check'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect({ status: result.status, output: `${result.stdout}${result.stderr}`.trim() }).toEqual({
      status: 0,
      output: 'docs/deployment.md: the configuration reference is up to date',
    });
  });
});

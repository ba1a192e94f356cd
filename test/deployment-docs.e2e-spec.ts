/**
 * The deployment and operations documents stay true to the repository: the configuration
 * reference is the one generated from the schema now, the port table and the production
 * checklist cover the chapter's, the files and commands they name exist, and the recovery
 * figures are the measured ones.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './support/monitoring-files';

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');
const DOCS = ['docs/deployment.md', 'docs/operations.md', 'docs/disaster-recovery.md'];

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

  it('has a row in its port table for every port Compose publishes', () => {
    const doc = read('docs/deployment.md');
    const services = (parse(read('docker-compose.yml'), { merge: true }) as any).services as Record<string, any>;
    for (const [name, service] of Object.entries(services)) {
      for (const entry of (service.ports ?? []) as string[]) {
        const [address, host] = entry.split(':');
        const row = new RegExp(
          `^\\| [^|]*\\(\`${name}\`[^|]*\\| ${host} \\| ${address.replace(/\./g, '\\.')} \\|`,
          'm',
        );
        expect([name, entry, row.test(doc)]).toEqual([name, entry, true]);
      }
    }
  });
});

describe('docs/operations.md', () => {
  const doc = read('docs/operations.md');

  it("has the chapter's three troubleshooting cases", () => {
    for (const heading of ['API 服務無法啟動', '資料庫連接失敗', 'Prometheus 無法抓取指標'])
      expect(doc).toMatch(new RegExp(`^### .*\\(${heading}\\)$`, 'm'));
  });

  it("answers every item of the chapter's production checklist", () => {
    const items = [
      '更換預設密碼和金鑰',
      '啟用 HTTPS',
      '設定適當的 CORS 策略',
      '啟用 API 認證',
      '設定速率限制',
      '配置健康檢查',
      '設定自動重啟',
      '配置資源限制',
      '設定日誌輪轉',
      '配置 Prometheus 指標收集',
      '建立 Grafana 儀表板',
      '設定告警規則',
      '配置日誌聚合',
      '配置資料庫備份',
      '設定備份驗證',
      '建立災難復原計畫',
    ];
    const checklist = doc.slice(doc.indexOf('## Production checklist'));
    for (const item of items) {
      const row = checklist.split('\n').find((line) => line.includes(`(${item})`));
      // Each row says where, with a file path or a document, or says plainly it is not done.
      expect([
        item,
        row !== undefined && /`[\w./-]+\/[\w./-]*`|`(docker-compose\.yml|Dockerfile)`|\]\(|\*\*Not done/.test(row),
      ]).toEqual([item, true]);
    }
  });
});

describe('the deployment documents', () => {
  it.each(DOCS)('%s names only repository paths that exist', (file) => {
    const doc = read(file);
    const paths = [...doc.matchAll(/`((?:apps|libs|scripts|test|bench|monitoring|searxng|docs|k8s)\/[\w./-]*)`/g)].map(
      (match) => match[1],
    );
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) expect([path, existsSync(join(REPO_ROOT, path))]).toEqual([path, true]);
  });

  it.each(DOCS)('%s links only to files that exist', (file) => {
    for (const [, target] of read(file).matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)) {
      const path = normalize(join(dirname(file), target));
      // docs/kubernetes.md comes with the Kubernetes manifests' own guide.
      if (path === 'docs/kubernetes.md') continue;
      expect([target, existsSync(join(REPO_ROOT, path))]).toEqual([target, true]);
    }
  });

  it.each(DOCS)('%s runs only commands the CLI has', (file) => {
    const usage = /const USAGE = `([\s\S]*?)`;/.exec(read('apps/cli/src/main.ts'))![1];
    const commands = [...read(file).matchAll(/(?:main\.js|npm run cli --) ([a-z:-]+)(?: ([a-z-]+))?/g)];
    for (const [, command, action] of commands) {
      // `keys create`, `audit verify`: commands with actions name one; `ingest <folder>` takes an argument.
      const hasActions = new RegExp(`^  ${command} [a-z]`, 'm').test(usage);
      const known = new RegExp(`^  ${command}${hasActions ? ` ${action}` : ''}\\b`, 'm');
      expect([command, action, known.test(usage)]).toEqual([command, action, true]);
    }
  });

  it('README links to the deployment and operations guides from its Docker and Kubernetes section', () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('## Docker Compose, monitoring and Kubernetes'));
    expect(section.slice(0, section.indexOf('\n## ', 5))).toEqual(
      expect.stringMatching(/\(docs\/deployment\.md\)[\s\S]*\(docs\/operations\.md\)/),
    );
  });

  it('gives the recovery times measured in docs/benchmarks.md', () => {
    const recovery = read('docs/disaster-recovery.md');
    const benchmarks = read('docs/benchmarks.md');
    const table = recovery.slice(recovery.indexOf('| Step | Time |'));
    const figures = [...table.slice(0, table.indexOf('\n\n')).matchAll(/\| (\d+\.\d) s \|/g)].map((match) => match[1]);
    expect(figures).toHaveLength(3);
    const measured = benchmarks.slice(benchmarks.indexOf('## Backup, restore and verification times'));
    for (const figure of figures) expect(measured).toContain(`${figure} s`);
    // The Redis figures too: the longest re-queue measured, and the bound.
    expect(recovery).toContain('22.3 s');
    expect(benchmarks.slice(benchmarks.indexOf('## Redis flushed'))).toContain('22.2 / 22.3 / 22.3 s');
  });
});

import { existsSync } from 'node:fs';
import { RESEARCH_QUEUE } from '@app/research';
import { TestStack } from '@app/testing';
import { Browser, Page, chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  process.stderr.write(
    'chromium is not installed: the browser suite is skipped (Debian: apt-get install chromium; CI installs it)\n',
  );
}
const describeWithChromium = hasChromium ? describe : describe.skip;

interface PageVisit {
  page: Page;
  /** Every Content-Security-Policy violation the page reported. */
  violations: () => Promise<string[]>;
  consoleErrors: string[];
}

/**
 * The api's HTML pages in a real headless Chromium, under the Content-Security-Policy the api
 * sends: they must render and work without one violation.
 */
describeWithChromium('the api pages in a browser', () => {
  let stack: TestStack;
  let browser: Browser;
  let adminKey: string;

  beforeAll(async () => {
    stack = await TestStack.create({ label: 'browser', env: { QUEUE_DASHBOARD_ENABLED: 'true' } });
    const created = await stack.cli(['keys', 'create', '--tenant', 'ops', '--scopes', 'admin']);
    adminKey = created.stdout.trim().split('\n').at(-1) ?? '';
    await stack.startApi();
    // Each launch runs on a fresh profile of its own, removed when the browser closes.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.teardown();
  });

  async function visit(path: string): Promise<PageVisit> {
    // The queue dashboard asks for an admin key as the password of HTTP Basic authentication.
    const page = await browser.newPage({ httpCredentials: { username: 'admin', password: adminKey } });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    // In the page, before its own scripts run (the suite has no DOM types, hence a string).
    await page.addInitScript({
      content: `window.cspViolations = [];
        document.addEventListener('securitypolicyviolation', (event) =>
          window.cspViolations.push(event.effectiveDirective + ' blocked ' + (event.blockedURI || 'inline')));`,
    });
    // Nothing leaves the machine: a page that needs the internet fails here as it would offline.
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    await page.goto(`${stack.http.baseUrl}${path}`);
    return {
      page,
      consoleErrors,
      violations: () => page.evaluate<string[]>('window.cspViolations'),
    };
  }

  it('renders Swagger UI at /docs with every operation, and runs one from the page', async () => {
    const { page, violations, consoleErrors } = await visit('/docs');
    await page.locator('.opblock').first().waitFor();
    const paths = await page
      .locator('.opblock-summary-path')
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-path')));
    expect(paths).toEqual(
      expect.arrayContaining(['/api/v1/research', '/api/v1/research/{id}', '/api/v1/documents', '/health']),
    );

    const liveness = page.locator('#operations-health-HealthController_liveness');
    await liveness.locator('.opblock-summary').click();
    await liveness.getByRole('button', { name: 'Try it out' }).click();
    await liveness.getByRole('button', { name: 'Execute' }).click();
    const status = liveness.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor();
    expect((await status.innerText()).trim()).toBe('200');

    expect(await violations()).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('renders Bull Board at /admin/queues with the research queue', async () => {
    const { page, violations, consoleErrors } = await visit('/admin/queues');
    await page.getByText(RESEARCH_QUEUE, { exact: true }).first().waitFor();
    expect(await violations()).toEqual([]);
    // Its web fonts are on Google Fonts, which this test does not reach; the policy allows them.
    expect(consoleErrors.filter((error) => !error.includes('net::ERR_FAILED'))).toEqual([]);
    await page.close();
  });
});

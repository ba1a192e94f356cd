import { AppConfig } from '@app/config';
import { PagePolicy } from '@app/http';
import { QUEUE_DASHBOARD_PATH } from '../admin/queue-dashboard.constants';
import { DOCS_PATH } from '../openapi';

/** The HTML pages the api serves, each with what its Content-Security-Policy must allow. */
export function pagePolicies(config: AppConfig): PagePolicy[] {
  const pages: PagePolicy[] = [];
  if (config.docsEnabled) pages.push({ pathPrefix: DOCS_PATH });
  if (config.queueDashboardEnabled) {
    pages.push({
      pathPrefix: QUEUE_DASHBOARD_PATH,
      // Bull Board's page takes its fonts from Google Fonts.
      sources: { 'style-src': ['https://fonts.googleapis.com'], 'font-src': ['https://fonts.gstatic.com'] },
    });
  }
  return pages;
}

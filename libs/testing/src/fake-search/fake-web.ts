import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';

export type PageHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** One result as SearXNG's `format=json` lists it. */
export interface SearxngResult {
  url: string;
  title: string;
  content?: string;
  engine?: string;
  score?: number;
}

/**
 * A small web on loopback: web pages by path, a `robots.txt`, and a SearXNG JSON endpoint
 * (`/search?q=&format=json`) whose results a test chooses per query. It counts every request by
 * path, so a test can tell what the service fetched, and what it never did. Bind it to another
 * loopback address (127.0.0.2) to stand for an internal service the fetcher must never reach.
 */
export class FakeWeb {
  readonly requests: { path: string; query: URLSearchParams; userAgent: string | undefined }[] = [];
  private readonly pages = new Map<string, PageHandler>();
  private searchResults: (query: string) => SearxngResult[] = () => [];
  private searchAnswer: PageHandler | null = null;

  private constructor(
    private readonly server: Server,
    readonly base: string,
  ) {}

  static async start(host = '127.0.0.1'): Promise<FakeWeb> {
    const holder: { web?: FakeWeb } = {};
    const server = createServer((request, response) => holder.web!.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    holder.web = new FakeWeb(server, `http://${host}:${(server.address() as AddressInfo).port}`);
    return holder.web;
  }

  /** Serves `path` with `handler`. */
  page(path: string, handler: PageHandler): this {
    this.pages.set(path, handler);
    return this;
  }

  /** Serves `path` as HTML. */
  html(path: string, html: string): this {
    return this.page(path, (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(html);
    });
  }

  /** What the SearXNG endpoint lists for a query. */
  searxng(results: (query: string) => SearxngResult[]): this {
    this.searchResults = results;
    this.searchAnswer = null;
    return this;
  }

  /** Answers every SearXNG request with `handler` instead (an outage, a rate limit), until `searxng()` again. */
  searxngAnswers(handler: PageHandler): this {
    this.searchAnswer = handler;
    return this;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** Requests seen for `path` (without the query string). */
  count(path: string): number {
    return this.requests.filter((request) => request.path === path).length;
  }

  forget(): void {
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.base);
    this.requests.push({ path: url.pathname, query: url.searchParams, userAgent: request.headers['user-agent'] });
    if (url.pathname === '/search') {
      if (this.searchAnswer) return this.searchAnswer(request, response);
      const query = url.searchParams.get('q') ?? '';
      const results = this.searchResults(query).map((result) => ({ engine: 'duckduckgo', ...result }));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          query,
          number_of_results: results.length,
          results,
          answers: [],
          corrections: [],
          infoboxes: [],
          suggestions: [],
          unresponsive_engines: [],
        }),
      );
      return;
    }
    const page = this.pages.get(url.pathname);
    if (page) return page(request, response);
    response.writeHead(404, { 'content-type': 'text/html' });
    response.end('<html><body>Not found</body></html>');
  }
}

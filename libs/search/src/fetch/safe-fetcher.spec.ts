import { LookupAddress } from 'node:dns';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { FetchError } from './fetch-errors';
import { FetchSettings } from '@app/config';
import { SafeFetcher } from './safe-fetcher';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The fetcher against real HTTP servers on this machine. Host names resolve through a test
 * resolver: `pages.test` is listed as allowed (it resolves to loopback, where the test server
 * runs); `evil.test`, `metadata.test` and `mixed.test` resolve to addresses the guard refuses.
 */
describe('SafeFetcher', () => {
  let server: Server;
  let port: number;
  const routes = new Map<string, Handler>();
  const seen: { path: string; userAgent: string | undefined; acceptEncoding: string | undefined }[] = [];

  const names: Record<string, LookupAddress[]> = {
    'pages.test': [{ address: '127.0.0.1', family: 4 }],
    'evil.test': [{ address: '127.0.0.1', family: 4 }],
    'metadata.test': [{ address: '169.254.169.254', family: 4 }],
    'mapped.test': [{ address: '::ffff:127.0.0.1', family: 6 }],
    'mixed.test': [
      { address: '93.184.215.14', family: 4 },
      { address: '10.0.0.1', family: 4 },
    ],
  };
  const resolve = async (hostname: string) => {
    const found = names[hostname];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return found;
  };

  const settings: FetchSettings = {
    allowedHosts: ['pages.test'],
    userAgent: 'deep-research-service/0.1 (+test)',
    respectRobots: true,
    connectTimeoutMs: 1000,
    timeoutMs: 1500,
    maxBytes: 64 * 1024,
    maxDecodedBytes: 256 * 1024,
    maxRedirects: 5,
    robotsTtlMs: 60_000,
  };
  const fetchers: SafeFetcher[] = [];
  const outcomes: string[] = [];
  const fetcher = (overrides: Partial<FetchSettings> = {}) => {
    const made = new SafeFetcher({ ...settings, ...overrides }, resolve, (outcome, seconds) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      outcomes.push(outcome);
    });
    fetchers.push(made);
    return made;
  };
  const page = (path: string, host = 'pages.test') => `http://${host}:${port}${path}`;

  const html =
    (body: string, headers: Record<string, string> = {}): Handler =>
    (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers });
      response.end(body);
    };
  const redirect =
    (to: () => string, status = 302): Handler =>
    (_request, response) => {
      response.writeHead(status, { location: to() });
      response.end();
    };

  async function refusal(promise: Promise<unknown>): Promise<FetchError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FetchError);
    return error as FetchError;
  }

  beforeAll(async () => {
    server = createServer((request, response) => {
      const path = request.url ?? '/';
      seen.push({ path, userAgent: request.headers['user-agent'], acceptEncoding: request.headers['accept-encoding'] });
      const handler = routes.get(path);
      if (handler) handler(request, response);
      else response.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    });
    await new Promise<void>((resolved) => server.listen(0, '127.0.0.1', resolved));
    port = (server.address() as AddressInfo).port;
  });

  beforeEach(() => {
    routes.clear();
    seen.length = 0;
    outcomes.length = 0;
    routes.set('/robots.txt', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('User-agent: *\nDisallow: /private\n');
    });
  });

  afterEach(async () => {
    await Promise.all(fetchers.splice(0).map((made) => made.close()));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolved) => server.close(resolved));
  });

  it('fetches a page and says what it is: final url, status, format, validators, decoded text; it names itself', async () => {
    routes.set(
      '/article',
      html('<html><body><p>晶片市場</p></body></html>', {
        etag: '"v1"',
        'last-modified': 'Tue, 01 Sep 2026 10:00:00 GMT',
      }),
    );
    const fetched = await fetcher().fetch(page('/article#section'));
    expect(fetched).toMatchObject({
      url: page('/article#section'),
      finalUrl: page('/article'),
      status: 200,
      format: 'html',
      mediaType: 'text/html',
      body: '<html><body><p>晶片市場</p></body></html>',
      etag: '"v1"',
      lastModified: 'Tue, 01 Sep 2026 10:00:00 GMT',
      redirects: [],
    });
    expect(seen.find((request) => request.path === '/article')).toMatchObject({
      userAgent: 'deep-research-service/0.1 (+test)',
      acceptEncoding: 'gzip, deflate, br',
    });
  });

  it('reads plain text and Markdown, decodes the charset the server names or the page declares, and gunzips', async () => {
    routes.set('/notes.md', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/markdown' });
      response.end('# Notes\n\nHBM supply');
    });
    routes.set('/big5.txt', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain; charset=big5' });
      response.end(Buffer.from([0xa4, 0xa4, 0xa4, 0xe5])); // 中文
    });
    routes.set('/meta-big5', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(Buffer.concat([Buffer.from('<meta charset="big5"><p>'), Buffer.from([0xa4, 0xa4, 0xa4, 0xe5])]));
    });
    routes.set('/gzipped', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-encoding': 'gzip' });
      response.end(gzipSync('compressed words'));
    });
    const fetch = fetcher();
    expect(await fetch.fetch(page('/notes.md'))).toMatchObject({ format: 'markdown', body: '# Notes\n\nHBM supply' });
    expect((await fetch.fetch(page('/big5.txt'))).body).toBe('中文');
    expect((await fetch.fetch(page('/meta-big5'))).body).toBe('<meta charset="big5"><p>中文');
    expect(await fetch.fetch(page('/gzipped'))).toMatchObject({ format: 'text', body: 'compressed words' });
  });

  describe('the address guard', () => {
    it('refuses loopback, private and metadata addresses, by literal or after DNS, IPv4-mapped IPv6 included, before connecting', async () => {
      routes.set('/secret', html('secret'));
      const fetch = fetcher();
      const cases = [
        [`http://127.0.0.1:${port}/secret`, 'loopback'],
        [`http://[::ffff:127.0.0.1]:${port}/secret`, 'loopback'],
        [`http://[::1]:${port}/secret`, 'loopback'],
        [`http://2130706433:${port}/secret`, 'loopback'],
        [page('/secret', 'evil.test'), 'loopback'],
        [page('/secret', 'mapped.test'), 'loopback'],
        ['http://metadata.test/latest/meta-data/', 'link-local'],
        ['http://169.254.169.254/latest/meta-data/', 'link-local'],
        ['http://[fd00:ec2::254]/latest/meta-data/', 'unique-local'],
        ['http://100.100.100.200/latest/meta-data/', 'carrier-grade NAT'],
        ['http://mixed.test/', 'private'],
      ];
      for (const [url, kind] of cases) {
        const error = await refusal(fetch.fetch(url as string));
        expect([url, error.reason]).toEqual([url, 'blocked_address']);
        expect(error.message).toContain(kind);
      }
      expect(seen.filter((request) => request.path === '/secret')).toEqual([]);
    });

    it('checks every redirect: one to a loopback address or to a name resolving to it is refused, and never requested', async () => {
      routes.set(
        '/to-literal',
        redirect(() => `http://127.0.0.1:${port}/secret`),
      );
      routes.set(
        '/to-evil',
        redirect(() => page('/secret', 'evil.test'), 301),
      );
      routes.set(
        '/to-metadata',
        redirect(() => 'http://169.254.169.254/latest/meta-data/', 307),
      );
      routes.set('/secret', html('secret'));
      const fetch = fetcher();
      for (const path of ['/to-literal', '/to-evil', '/to-metadata']) {
        expect((await refusal(fetch.fetch(page(path)))).reason).toBe('blocked_address');
      }
      expect(seen.filter((request) => request.path === '/secret')).toEqual([]);
    });

    it('lets loopback through only when configured: by network', async () => {
      routes.set('/local', html('local page'));
      const fetched = await fetcher({ allowedHosts: ['127.0.0.0/8'] }).fetch(`http://127.0.0.1:${port}/local`);
      expect(fetched.body).toBe('local page');
      expect((await refusal(fetcher({ allowedHosts: [] }).fetch(page('/local')))).reason).toBe('blocked_address');
    });
  });

  it('fetches http and https only, and no URL with credentials', async () => {
    routes.set(
      '/to-file',
      redirect(() => 'file:///etc/passwd'),
    );
    const fetch = fetcher();
    for (const url of [
      'file:///etc/passwd',
      'ftp://pages.test/file',
      'gopher://pages.test/',
      'not a url',
      `http://user:pw@pages.test:${port}/`,
    ]) {
      expect((await refusal(fetch.fetch(url))).reason).toBe('bad_url');
    }
    expect((await refusal(fetch.fetch(page('/to-file')))).reason).toBe('bad_url');
  });

  it('follows up to five redirects, each recorded, and refuses a sixth', async () => {
    for (let hop = 0; hop < 6; hop += 1)
      routes.set(
        `/hop${hop}`,
        redirect(() => page(`/hop${hop + 1}`)),
      );
    routes.set('/hop6', html('arrived'));
    const fetch = fetcher();
    const arrived = await fetch.fetch(page('/hop1'));
    expect(arrived).toMatchObject({ finalUrl: page('/hop6'), body: 'arrived' });
    expect(arrived.redirects).toEqual([1, 2, 3, 4, 5].map((hop) => page(`/hop${hop}`)));
    const error = await refusal(fetch.fetch(page('/hop0')));
    expect(error.reason).toBe('too_many_redirects');
  });

  describe('limits', () => {
    it('refuses a body over the limit, whether announced or streamed, and a gzip bomb once it decompresses past its limit', async () => {
      routes.set('/announced', (_request, response) => {
        response.writeHead(200, { 'content-type': 'text/html', 'content-length': String(10 * 1024 * 1024) });
        response.write('x'.repeat(1024));
        // Never finishes: the fetcher must not wait for the rest.
      });
      routes.set('/streamed', (_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = 'y'.repeat(16 * 1024);
        for (let i = 0; i < 8; i += 1) response.write(chunk);
        response.end();
      });
      const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
      routes.set('/bomb', (_request, response) => {
        response.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        response.end(bomb);
      });
      expect(bomb.length).toBeLessThan(settings.maxBytes);
      const fetch = fetcher();
      for (const path of ['/announced', '/streamed', '/bomb']) {
        const started = Date.now();
        const error = await refusal(fetch.fetch(page(path)));
        expect([path, error.reason]).toEqual([path, 'too_large']);
        expect(Date.now() - started).toBeLessThan(settings.timeoutMs);
      }
    });

    it('gives up on a server that sends no headers, or trickles its body, within the timeout', async () => {
      routes.set('/silent', () => undefined);
      routes.set('/trickle', (_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => response.write('.'), 100);
        response.on('close', () => clearInterval(timer));
      });
      const fetch = fetcher();
      for (const path of ['/silent', '/trickle']) {
        const started = Date.now();
        const error = await refusal(fetch.fetch(page(path)));
        expect([path, error.reason]).toEqual([path, 'timeout']);
        expect(Date.now() - started).toBeLessThan(settings.timeoutMs + 500);
      }
    });

    it('stops when the caller cancels', async () => {
      routes.set('/silent', () => undefined);
      const error = await refusal(fetcher().fetch(page('/silent'), { signal: AbortSignal.timeout(100) }));
      expect(error.reason).toBe('timeout');
      expect(error.message).toContain('cancelled');
    });
  });

  it('reads HTML, plain text, Markdown and PDF only (a PDF as bytes), and says which type it refused', async () => {
    for (const [path, type] of [
      ['/doc.pdf', 'application/pdf'],
      ['/image.png', 'image/png'],
      ['/data.json', 'application/json'],
      ['/untyped', ''],
    ]) {
      routes.set(path, (_request, response) => {
        response.writeHead(200, type ? { 'content-type': type } : {});
        response.end('%PDF-1.7');
      });
    }
    const fetch = fetcher();
    const pdf = await fetch.fetch(page('/doc.pdf'));
    expect(pdf).toMatchObject({ format: 'pdf', mediaType: 'application/pdf', body: '' });
    expect(Buffer.from(pdf.data!).toString('latin1')).toBe('%PDF-1.7');
    for (const [path, type] of [
      ['/image.png', 'image/png'],
      ['/data.json', 'application/json'],
      ['/untyped', 'of no declared type'],
    ]) {
      const error = await refusal(fetch.fetch(page(path!)));
      expect([path, error.reason]).toEqual([path, 'unsupported_content_type']);
      expect(error.message).toContain(type);
    }
  });

  it('turns an error status into a refusal that carries it', async () => {
    const error = await refusal(fetcher().fetch(page('/missing')));
    expect(error).toMatchObject({ reason: 'http_status', status: 404 });
  });

  it('reports the outcome of every fetch, once, for the metrics', async () => {
    routes.set('/public', html('public'));
    const fetch = fetcher();
    await fetch.fetch(page('/public'));
    await refusal(fetch.fetch(page('/missing')));
    await refusal(fetch.fetch(page('/secret', 'evil.test')));
    await refusal(fetch.fetch(page('/private/x')));
    expect(outcomes).toEqual(['fetched', 'http_status', 'blocked_address', 'robots']);
  });

  describe('robots.txt', () => {
    it('is respected, and read once per site', async () => {
      routes.set('/private/report', html('private'));
      routes.set('/public', html('public'));
      const fetch = fetcher();
      expect((await refusal(fetch.fetch(page('/private/report')))).reason).toBe('robots');
      expect((await fetch.fetch(page('/public'))).body).toBe('public');
      expect((await fetch.fetch(page('/public'))).body).toBe('public');
      expect(seen.filter((request) => request.path.startsWith('/private'))).toEqual([]);
      expect(seen.filter((request) => request.path === '/robots.txt')).toHaveLength(1);
    });

    it('applies the group that names this service by its product token, and not another agent’s', async () => {
      routes.set('/robots.txt', (_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('User-agent: other-bot\nDisallow: /\n\nUser-agent: deep-research-service\nDisallow: /no-agents\n');
      });
      routes.set('/no-agents/page', html('no agents'));
      routes.set('/public', html('public'));
      const fetch = fetcher();
      const error = await refusal(fetch.fetch(page('/no-agents/page')));
      expect(error.message).toContain('disallows /no-agents/page for deep-research-service');
      expect((await fetch.fetch(page('/public'))).body).toBe('public');
    });

    it('is checked again at the end of a redirect', async () => {
      routes.set(
        '/to-private',
        redirect(() => page('/private/report')),
      );
      routes.set('/private/report', html('private'));
      expect((await refusal(fetcher().fetch(page('/to-private')))).reason).toBe('robots');
      expect(seen.filter((request) => request.path === '/private/report')).toEqual([]);
    });

    it('allows everything when a site has none (4xx), nothing when it cannot be read (5xx), and can be turned off', async () => {
      routes.set('/public', html('public'));
      routes.set('/robots.txt', (_request, response) => response.writeHead(404).end());
      expect((await fetcher().fetch(page('/public'))).body).toBe('public');
      routes.set('/robots.txt', (_request, response) => response.writeHead(503).end());
      expect((await refusal(fetcher().fetch(page('/public')))).reason).toBe('robots');
      expect((await fetcher({ respectRobots: false }).fetch(page('/public'))).body).toBe('public');
    });

    it('allows nothing when robots.txt breaks off mid-body, and says so as a refusal', async () => {
      routes.set('/public', html('public'));
      routes.set('/robots.txt', (request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        response.write('User-agent: *\n');
        setTimeout(() => request.socket.destroy(), 20);
      });
      const error = await refusal(fetcher().fetch(page('/public')));
      expect(error.reason).toBe('robots');
      expect(outcomes).toEqual(['robots']);
    });
  });
});

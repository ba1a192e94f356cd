import { InlineTextProcessor } from '../text/inline-text-processor';
import { createHash } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { loadConfig } from '@app/config';
import { SafeFetcher } from '../fetch/safe-fetcher';
import { SearchProviderError } from '../providers/provider-http';
import { SearchHit, SearchProvider, SearchQuery } from '../search-provider';
import { SourceSearch, fuseRankings } from './source-search';
import { SearchFailedError } from './sources.errors';

class ScriptedProvider extends SearchProvider {
  readonly queries: SearchQuery[] = [];

  constructor(
    readonly name: string,
    private readonly answer: (query: SearchQuery) => SearchHit[],
  ) {
    super();
  }

  async search(query: SearchQuery): Promise<SearchHit[]> {
    this.queries.push(query);
    return this.answer(query);
  }
}

const webHit = (url: string, provider = 'searxng'): SearchHit => ({
  provider,
  kind: 'web',
  documentId: null,
  url,
  title: `Result ${url}`,
  snippet: 'snippet',
  score: 1,
  snapshot: null,
});

const documentHit = (id: string, text: string, url: string | null = null): SearchHit => ({
  provider: 'corpus',
  kind: 'document',
  documentId: id,
  url,
  title: `Document ${id}`,
  snippet: text,
  score: 0.5,
  snapshot: {
    kind: 'document',
    provider: 'corpus',
    documentId: id,
    url,
    finalUrl: null,
    title: `Document ${id}`,
    httpStatus: null,
    mediaType: null,
    contentHash: createHash('sha256').update(text).digest('hex'),
    text,
    retrievedAt: new Date(),
  },
});

const ARTICLE =
  '<html lang="en"><head><title>HBM supply</title></head><body><nav>Home | About</nav><article><h1>HBM supply</h1>' +
  '<p>SK hynix was the main supplier of HBM in 2024, ahead of Samsung and Micron by a wide margin.</p>' +
  '<p>Supply of HBM stayed short through the year as demand for AI accelerators grew faster than capacity.</p>' +
  '</article></body></html>';

/** Pages on loopback, which the fetcher reaches only because the test lists 127.0.0.1 as allowed. */
describe('SourceSearch', () => {
  let server: Server;
  let base: string;
  let fetcher: SafeFetcher;
  const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => void> = {
    '/article': (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(ARTICLE);
    },
    '/moved': (_request, response) => {
      response.writeHead(301, { location: '/article' });
      response.end();
    },
    '/missing': (_request, response) => {
      response.writeHead(404, { 'content-type': 'text/html' });
      response.end('<p>not here</p>');
    },
    '/report.zip': (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/zip' });
      response.end('PK');
    },
    '/empty': (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html><body><script>var x = 1;</script></body></html>');
    },
    '/notes.txt': (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('HBM notes.\n\nSK hynix led HBM supply in 2024.');
    },
  };

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    server = createServer((request, response) => {
      const route = routes[new URL(request.url ?? '/', 'http://x').pathname];
      if (route) return route(request, response);
      response.writeHead(404);
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fetcher = new SafeFetcher(loadConfig({ FETCH_ALLOWED_HOSTS: '127.0.0.1', FETCH_RESPECT_ROBOTS: 'false' }).fetch);
  });

  afterAll(async () => {
    await fetcher.close();
    await new Promise((resolve) => server.close(resolve));
    jest.restoreAllMocks();
  });

  describe('search', () => {
    const query = { tenantId: 't', text: 'HBM supply', limit: 5 };

    it('asks only the providers named, and goes on without a web engine that fails', async () => {
      const corpus = new ScriptedProvider('corpus', () => [documentHit('d1', 'text')]);
      const searxng = new ScriptedProvider('searxng', () => {
        throw new SearchProviderError('searxng', 'rate_limited', 'HTTP 429', 429);
      });
      const brave = new ScriptedProvider('brave', () => [webHit(`${base}/article`, 'brave')]);
      const search = new SourceSearch([corpus, searxng, brave], fetcher, new InlineTextProcessor());

      const round = await search.search(query, ['corpus', 'searxng']);
      expect(brave.queries).toHaveLength(0);
      expect(round.rankings.map((ranking) => ranking.map((hit) => hit.documentId))).toEqual([['d1']]);
      expect(round.failures).toEqual([{ provider: 'searxng', reason: 'rate_limited', message: 'searxng: HTTP 429' }]);
    });

    it('fails retryably when every provider asked fails, and lets a failure of the corpus (the database) through', async () => {
      const down = new ScriptedProvider('searxng', () => {
        throw new SearchProviderError('searxng', 'server_error', 'HTTP 503', 503);
      });
      const error = await new SourceSearch([down], fetcher, new InlineTextProcessor())
        .search(query)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SearchFailedError);
      expect(error).toMatchObject({ code: 'search_failed', retryable: true });

      const database = new ScriptedProvider('corpus', () => {
        throw new Error('connection terminated');
      });
      const web = new ScriptedProvider('searxng', () => [webHit(`${base}/article`)]);
      await expect(new SourceSearch([database, web], fetcher, new InlineTextProcessor()).search(query)).rejects.toThrow(
        'connection terminated',
      );
    });
  });

  describe('readBest', () => {
    it('reads pages through the guarded fetcher and keeps what was read: final URL, status, media type, hash, text', async () => {
      const search = new SourceSearch([], fetcher, new InlineTextProcessor());
      const { snapshots, failures } = await search.readBest([webHit(`${base}/moved`)], 1);
      expect(failures).toEqual([]);
      const [page] = snapshots;
      expect(page).toMatchObject({
        kind: 'web',
        provider: 'searxng',
        url: `${base}/moved`,
        finalUrl: `${base}/article`,
        httpStatus: 200,
        mediaType: 'text/html',
        title: 'HBM supply',
      });
      expect(page!.text).toContain('SK hynix was the main supplier of HBM in 2024');
      expect(page!.text).not.toContain('Home | About');
      expect(page!.contentHash).toBe(createHash('sha256').update(page!.text).digest('hex'));
    });

    it('gives the place of a page it cannot read to the next hit, and says why each was not read', async () => {
      const search = new SourceSearch([], fetcher, new InlineTextProcessor());
      const hits = [
        webHit(`${base}/missing`),
        documentHit('d1', 'A document of the corpus.'),
        webHit(`${base}/report.zip`),
        webHit(`${base}/empty`),
        webHit('http://169.254.169.254/latest/meta-data/'),
        webHit(`${base}/notes.txt`),
        webHit(`${base}/article`),
      ];
      const { snapshots, failures } = await search.readBest(hits, 2);
      expect(snapshots.map((s) => s.title)).toEqual(['Document d1', 'HBM notes.']);
      expect(failures.map((f) => [f.url, f.reason])).toEqual([
        [`${base}/missing`, 'http_status'],
        [`${base}/report.zip`, 'unsupported_content_type'],
        [`${base}/empty`, 'empty'],
        ['http://169.254.169.254/latest/meta-data/', 'blocked_address'],
      ]);
    });
  });

  describe('fuseRankings', () => {
    it('ranks by reciprocal rank over every list, and keeps one copy of a source, the corpus text when there is one', () => {
      const corpusCopy = documentHit('d1', 'the page as ingested', 'https://example.com/a');
      const fused = fuseRankings([
        [webHit('https://example.com/b'), webHit('https://example.com/a')],
        [corpusCopy],
        [webHit('https://example.com/c', 'brave'), webHit('https://example.com/a', 'brave')],
      ]);
      expect(fused.map((hit) => hit.url)).toEqual([
        'https://example.com/a',
        'https://example.com/b',
        'https://example.com/c',
      ]);
      expect(fused[0]).toBe(corpusCopy);
    });
  });
});

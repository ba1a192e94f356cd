import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import { BlockedAddressError, OutboundGuard, Resolve, systemResolve, undici } from '@app/common';
import { FetchSettings } from '@app/config';
import robotsParser from 'robots-parser';
import type { Dispatcher } from 'undici';
import { FetchError, FetchRefusalReason } from './fetch-errors';

export type PageFormat = 'html' | 'text' | 'markdown' | 'pdf';

/** A fetched page: what citations of it are checked against. */
export interface FetchedPage {
  url: string;
  /** After redirects. */
  finalUrl: string;
  status: number;
  format: PageFormat;
  /** As the server named it, without parameters. */
  mediaType: string;
  fetchedAt: Date;
  /** The body, decoded from its charset; empty for a PDF, whose bytes are in `data`. */
  body: string;
  /** The bytes of a PDF. */
  data?: Uint8Array;
  etag: string | null;
  lastModified: string | null;
  /** The URLs redirected through, in order. */
  redirects: string[];
}

/** What a cached copy of a page is revalidated with: the validators its server sent. */
export interface PageValidators {
  etag: string | null;
  lastModified: string | null;
}

/** The server's answer to a revalidation when the cached copy is still current (304). */
export interface NotModified {
  notModified: true;
  finalUrl: string;
  checkedAt: Date;
}

/** How a fetch ended: `fetched`, `not_modified` (a revalidation answered 304), or why not. */
export type FetchOutcome = 'fetched' | 'not_modified' | FetchRefusalReason;

export type FetchObserver = (outcome: FetchOutcome, seconds: number) => void;

export interface FetchOptions {
  signal?: AbortSignal;
}

const FORMATS: Readonly<Record<string, PageFormat>> = {
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'application/pdf': 'pdf',
};
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_ROBOTS_BYTES = 512 * 1024;
const DECODERS: Readonly<Record<string, (buffer: Buffer, options: { maxOutputLength: number }) => Promise<Buffer>>> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
};

type Robots = ReturnType<typeof robotsParser>;

/** What a fetch runs under: the caller's signal, if any, joined with the fetcher's own timeout, kept apart to say which fired. */
type TimedSignal = AbortSignal & { timeout: AbortSignal };

/**
 * The one way the service fetches a URL it did not choose itself (search results, pages a source
 * links to, webhooks later). It refuses:
 * - schemes other than http and https;
 * - hosts whose addresses are private, loopback, link-local (cloud metadata), CGNAT, multicast or
 *   reserved, checked on the addresses the connection then uses (the guard is the socket's DNS
 *   lookup, so a name cannot resolve to one address for the check and another for the connection),
 *   on every redirect, IPv4-mapped IPv6 included (AddressPolicy);
 * - paths the site's robots.txt disallows for this service (`robots-parser`), unless configured off;
 * - more than `maxRedirects` redirects;
 * - bodies over `maxBytes`, or over `maxDecodedBytes` once decompressed (a gzip bomb stops there);
 * - content types other than HTML, plain text, Markdown and PDF, before reading their body;
 * - anything slower than the connect and total timeouts.
 * Each refusal is a FetchError with its reason.
 */
export class SafeFetcher {
  private readonly guard: OutboundGuard;
  /** Made on the first request (see `undici`). */
  private agent?: Dispatcher;
  private readonly robotsToken: string;
  private readonly robots = new Map<string, { rules: Robots | 'allow' | 'disallow'; until: number }>();
  private readonly robotsReads = new Map<string, Promise<Robots | 'allow' | 'disallow'>>();

  constructor(
    private readonly settings: FetchSettings,
    resolve: Resolve = systemResolve,
    /** Told the outcome and duration of every fetch (the fetch metrics). */
    private readonly observe: FetchObserver = () => undefined,
  ) {
    this.guard = new OutboundGuard(settings.allowedHosts, resolve);
    this.robotsToken = settings.userAgent.split('/')[0]!.trim();
  }

  private get dispatcher(): Dispatcher {
    return (this.agent ??= new (undici().Agent)({
      connect: { timeout: this.settings.connectTimeoutMs, lookup: this.guard.lookup },
      headersTimeout: this.settings.timeoutMs,
      bodyTimeout: this.settings.timeoutMs,
      maxResponseSize: this.settings.maxBytes,
    }));
  }

  async fetch(url: string, options: FetchOptions = {}): Promise<FetchedPage> {
    return (await this.observed(url, options, null)) as FetchedPage;
  }

  /**
   * Fetches a page of which a copy is held, asking the server whether it changed (`If-None-Match`,
   * `If-Modified-Since`): NotModified when it did not (304), else the page as `fetch` gives it.
   * Every rule of `fetch` applies.
   */
  async revalidate(
    url: string,
    validators: PageValidators,
    options: FetchOptions = {},
  ): Promise<FetchedPage | NotModified> {
    return this.observed(url, options, validators);
  }

  private async observed(
    url: string,
    options: FetchOptions,
    validators: PageValidators | null,
  ): Promise<FetchedPage | NotModified> {
    const started = performance.now();
    let outcome: FetchOutcome = 'network';
    try {
      const page = await this.fetchOnce(url, options, validators);
      outcome = 'notModified' in page ? 'not_modified' : 'fetched';
      return page;
    } catch (error) {
      if (error instanceof FetchError) outcome = error.reason;
      throw error;
    } finally {
      this.observe(outcome, (performance.now() - started) / 1000);
    }
  }

  private async fetchOnce(
    url: string,
    options: FetchOptions,
    validators: PageValidators | null,
  ): Promise<FetchedPage | NotModified> {
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    const signal: TimedSignal = Object.assign(options.signal ? AbortSignal.any([options.signal, timeout]) : timeout, {
      timeout,
    });
    const redirects: string[] = [];
    let current = this.checkedUrl(url, url);
    for (;;) {
      if (this.settings.respectRobots) await this.checkRobots(current, url, signal);
      const response = await this.send(
        current,
        url,
        signal,
        'text/html, application/xhtml+xml, text/plain, text/markdown;q=0.9, application/pdf;q=0.8, */*;q=0.1',
        validators,
      );
      if (REDIRECTS.has(response.statusCode)) {
        const location = header(response, 'location');
        await response.body.dump().catch(() => undefined);
        if (!location)
          throw new FetchError('http_status', `${current.href} redirected nowhere`, url, response.statusCode);
        if (redirects.length >= this.settings.maxRedirects) {
          throw new FetchError('too_many_redirects', `more than ${this.settings.maxRedirects} redirects`, url);
        }
        redirects.push(current.href);
        current = this.checkedUrl(new URL(location, current).href, url);
        continue;
      }
      if (validators && response.statusCode === 304) {
        await response.body.dump().catch(() => undefined);
        return { notModified: true, finalUrl: current.href, checkedAt: new Date() };
      }
      return this.page(url, current, redirects, response, signal);
    }
  }

  async close(): Promise<void> {
    await this.agent?.close();
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  /** A URL the fetcher may request: the guard's judgement without DNS, as a FetchError. */
  private checkedUrl(candidate: string, original: string): URL {
    const url = this.guard.check(candidate);
    if (!(url instanceof URL)) throw new FetchError(url.reason, url.message, original);
    url.hash = '';
    return url;
  }

  private async send(
    url: URL,
    original: string,
    signal: TimedSignal,
    accept: string,
    validators: PageValidators | null = null,
  ): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = {
      'user-agent': this.settings.userAgent,
      accept,
      'accept-encoding': 'gzip, deflate, br',
    };
    if (validators?.etag) headers['if-none-match'] = validators.etag;
    if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
    try {
      return await undici().request(url, { dispatcher: this.dispatcher, method: 'GET', signal, headers });
    } catch (error) {
      throw this.failure(error, url, original, signal);
    }
  }

  private async page(
    original: string,
    url: URL,
    redirects: string[],
    response: Dispatcher.ResponseData,
    signal: TimedSignal,
  ): Promise<FetchedPage> {
    const status = response.statusCode;
    if (status < 200 || status >= 300) {
      await response.body.dump().catch(() => undefined);
      throw new FetchError('http_status', `${url.href} answered ${status}`, original, status);
    }
    const [mediaType = '', ...parameters] = (header(response, 'content-type') ?? '')
      .split(';')
      .map((part) => part.trim());
    const format = FORMATS[mediaType.toLowerCase()];
    if (!format) {
      await response.body.dump().catch(() => undefined);
      throw new FetchError(
        'unsupported_content_type',
        `${url.href} is ${mediaType || 'of no declared type'}; HTML, plain text, Markdown and PDF are read`,
        original,
      );
    }
    const declared = Number(header(response, 'content-length'));
    if (Number.isFinite(declared) && declared > this.settings.maxBytes) {
      await response.body.dump().catch(() => undefined);
      throw new FetchError('too_large', `${url.href} is ${declared} bytes, over ${this.settings.maxBytes}`, original);
    }
    const raw = await this.readBody(response, url, original, signal);
    const decoded = await this.decompress(raw, header(response, 'content-encoding'), url, original);
    return {
      url: original,
      finalUrl: url.href,
      status,
      format,
      mediaType: mediaType.toLowerCase(),
      fetchedAt: new Date(),
      body: format === 'pdf' ? '' : decodeText(decoded, charsetOf(parameters, format, decoded)),
      ...(format === 'pdf' ? { data: new Uint8Array(decoded) } : {}),
      etag: header(response, 'etag') ?? null,
      lastModified: header(response, 'last-modified') ?? null,
      redirects,
    };
  }

  private async readBody(
    response: Dispatcher.ResponseData,
    url: URL,
    original: string,
    signal: TimedSignal,
  ): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > this.settings.maxBytes) {
          response.body.destroy();
          throw new FetchError('too_large', `${url.href} is over ${this.settings.maxBytes} bytes`, original);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      throw this.failure(error, url, original, signal);
    }
    return Buffer.concat(chunks, size);
  }

  private async decompress(raw: Buffer, encoding: string | undefined, url: URL, original: string): Promise<Buffer> {
    const codings = (encoding ?? '')
      .split(',')
      .map((coding) => coding.trim().toLowerCase())
      .filter((coding) => coding && coding !== 'identity');
    let body = raw;
    // Codings are listed in the order they were applied.
    for (const coding of codings.reverse()) {
      const decode = DECODERS[coding];
      if (!decode)
        throw new FetchError('network', `${url.href} is encoded with ${coding}, which is not supported`, original);
      try {
        body = await decode(body, { maxOutputLength: this.settings.maxDecodedBytes });
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
          throw new FetchError(
            'too_large',
            `${url.href} decompresses to over ${this.settings.maxDecodedBytes} bytes`,
            original,
          );
        }
        throw new FetchError('network', `${url.href}: its ${coding} body does not decode`, original, undefined, {
          cause: error,
        });
      }
    }
    return body;
  }

  private failure(error: unknown, url: URL, original: string, signal: TimedSignal): FetchError {
    if (error instanceof FetchError) return error;
    const blocked = findCause(error, (cause) => cause instanceof BlockedAddressError) as
      BlockedAddressError | undefined;
    if (blocked) return new FetchError('blocked_address', blocked.message, original);
    const { errors } = undici();
    if (error instanceof errors.ResponseExceededMaxSizeError) {
      return new FetchError('too_large', `${url.href} is over ${this.settings.maxBytes} bytes`, original);
    }
    if (
      signal.aborted ||
      error instanceof errors.ConnectTimeoutError ||
      error instanceof errors.HeadersTimeoutError ||
      error instanceof errors.BodyTimeoutError
    ) {
      const why =
        signal.aborted && !signal.timeout.aborted
          ? 'the fetch was cancelled'
          : `no answer within ${this.settings.timeoutMs} ms`;
      return new FetchError('timeout', `${url.href}: ${why}`, original, undefined, { cause: error });
    }
    return new FetchError('network', `${url.href}: ${(error as Error).message}`, original, undefined, { cause: error });
  }

  /** RFC 9309: a missing robots.txt (4xx) allows everything; an unreachable one (5xx, network) allows nothing. */
  private async checkRobots(url: URL, original: string, signal: TimedSignal): Promise<void> {
    const rules = await this.robotsOf(url, signal);
    const allowed =
      rules === 'allow' || (rules !== 'disallow' && rules.isAllowed(url.href, this.robotsToken) !== false);
    if (!allowed) {
      throw new FetchError(
        'robots',
        rules === 'disallow'
          ? `${url.origin}/robots.txt could not be read, so nothing there is fetched`
          : `${url.origin}/robots.txt disallows ${url.pathname} for ${this.robotsToken}`,
        original,
      );
    }
  }

  /** A site's robots.txt is read once for the fetches that need it at the same time, then cached. */
  private async robotsOf(url: URL, signal: TimedSignal): Promise<Robots | 'allow' | 'disallow'> {
    const cached = this.robots.get(url.origin);
    if (cached && cached.until > Date.now()) return cached.rules;
    let reading = this.robotsReads.get(url.origin);
    if (!reading) {
      reading = this.readRobots(url, signal).finally(() => this.robotsReads.delete(url.origin));
      this.robotsReads.set(url.origin, reading);
    }
    let rules: Robots | 'allow' | 'disallow';
    try {
      rules = await reading;
    } catch (error) {
      // The fetch that started the read was cancelled or timed out; this one reads for itself.
      if (signal.aborted) throw error;
      rules = await this.readRobots(url, signal);
    }
    this.robots.set(url.origin, { rules, until: Date.now() + this.settings.robotsTtlMs });
    return rules;
  }

  private async readRobots(url: URL, signal: TimedSignal): Promise<Robots | 'allow' | 'disallow'> {
    let location = new URL('/robots.txt', url);
    for (let hops = 0; hops <= this.settings.maxRedirects; hops += 1) {
      let response: Dispatcher.ResponseData;
      try {
        response = await this.send(location, location.href, signal, 'text/plain');
      } catch (error) {
        // A guard refusal or a timeout of the page itself is the page's failure, not the robots'.
        if ((error as FetchError).reason === 'blocked_address' || signal.aborted) throw error;
        return 'disallow';
      }
      const status = response.statusCode;
      const next = REDIRECTS.has(status) ? header(response, 'location') : undefined;
      if (status >= 200 && status < 300) {
        const chunks: Buffer[] = [];
        let size = 0;
        try {
          for await (const chunk of response.body) {
            size += (chunk as Buffer).length;
            // Past the limit, what was read is used (RFC 9309 asks for at least 500 KiB).
            if (size > MAX_ROBOTS_BYTES) {
              response.body.destroy();
              break;
            }
            chunks.push(chunk as Buffer);
          }
        } catch (error) {
          // The fetch's own time ran out, or the caller cancelled: that is the page's failure.
          if (signal.aborted) throw this.failure(error, location, location.href, signal);
          // A robots.txt that breaks off could not be read: nothing on the site is fetched.
          return 'disallow';
        }
        return robotsParser(location.href, Buffer.concat(chunks).toString('utf8'));
      }
      await response.body.dump().catch(() => undefined);
      if (next) {
        location = new URL(next, location);
        if (location.protocol !== 'http:' && location.protocol !== 'https:') return 'allow';
        continue;
      }
      return status >= 400 && status < 500 ? 'allow' : 'disallow';
    }
    return 'allow';
  }
}

function header(response: Dispatcher.ResponseData, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function findCause(error: unknown, test: (cause: unknown) => boolean): unknown {
  for (let cause = error, depth = 0; cause && depth < 5; cause = (cause as { cause?: unknown }).cause, depth += 1) {
    if (test(cause)) return cause;
  }
  return undefined;
}

/** The charset the Content-Type names, else one an HTML page declares near its start, else UTF-8. */
function charsetOf(parameters: string[], format: PageFormat, body: Buffer): string {
  for (const parameter of parameters) {
    const [name, value] = parameter.split('=');
    if (name?.trim().toLowerCase() === 'charset' && value) return value.trim().replace(/^"|"$/g, '');
  }
  if (format === 'html') {
    const head = body.subarray(0, 2048).toString('latin1');
    const declared = /<meta[^>]+charset\s*=\s*["']?\s*([\w-]+)/i.exec(head)?.[1];
    if (declared) return declared;
  }
  return 'utf-8';
}

function decodeText(body: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    // A charset the decoder does not know.
    return new TextDecoder('utf-8').decode(body);
  }
}

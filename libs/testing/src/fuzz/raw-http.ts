import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/** An answer as the client saw it; `status` 0 when none came. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Parsed when the answer says it is JSON and parses. */
  json: unknown;
  elapsedMs: number;
  /** Why there was no answer: the client timeout, or the connection's error. */
  failure?: string;
  /** Whether the server closed the connection (socket exchanges only). */
  closed?: boolean;
}

export interface HttpExchange {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * Sends one request with Node's HTTP client, which lets any method token, header and body
 * through, unlike fetch. Never rejects: a timeout or a connection error is reported in the result.
 */
export function exchange(
  port: number,
  request: HttpExchange,
  options: { timeoutMs: number; agent?: Agent },
): Promise<RawResponse> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (response: Omit<RawResponse, 'elapsedMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...response, elapsedMs: Date.now() - started });
    };
    let outgoing: ReturnType<typeof httpRequest>;
    try {
      outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: request.method,
          path: request.path,
          headers: framed(request),
          agent: options.agent ?? false,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', (error) => finish(failed(`response error: ${error.message}`)));
          incoming.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const headers = Object.fromEntries(
              Object.entries(incoming.headers).map(([name, value]) => [name, String(value)]),
            );
            finish({ status: incoming.statusCode ?? 0, headers, text, json: parseJson(headers, text) });
          });
        },
      );
    } catch (error) {
      // Node's client refuses some requests before sending them (a bad header, say).
      resolve({ ...failed(`not sent: ${(error as Error).message}`), elapsedMs: 0 });
      return;
    }
    const timer = setTimeout(() => {
      finish(failed(`no answer within ${options.timeoutMs} ms`));
      outgoing.destroy();
    }, options.timeoutMs);
    outgoing.on('error', (error) => finish(failed(`request error: ${error.message}`)));
    outgoing.end(request.body);
  });
}

/**
 * Writes bytes on a bare TCP connection, each chunk `dripMs` after the previous one, and reads
 * the first answer: until it is complete, or with `untilClosed` until the server closes the
 * connection; `timeoutMs` bounds both. For what an HTTP client will not send: broken request
 * lines, bodies that trickle or never come.
 */
export function socketExchange(
  port: number,
  chunks: ReadonlyArray<string | Buffer>,
  options: { timeoutMs: number; dripMs?: number; untilClosed?: boolean },
): Promise<RawResponse> {
  const started = Date.now();
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    let failure: string | undefined;
    let closed = false;
    let settled = false;
    const socket = connect(port, '127.0.0.1');
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (drip) clearInterval(drip);
      const response = parseResponse(Buffer.concat(received).toString('utf8'));
      resolve({ ...response, elapsedMs: Date.now() - started, closed, failure });
      socket.destroy();
    };
    let next = 0;
    const writeNext = () => {
      if (next < chunks.length && socket.writable) socket.write(chunks[next++]!);
    };
    const drip = options.dripMs ? setInterval(writeNext, options.dripMs) : undefined;
    socket.on('connect', () => {
      if (drip) writeNext();
      else chunks.forEach((chunk) => socket.write(chunk));
    });
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (!options.untilClosed && parseResponse(Buffer.concat(received).toString('utf8')).complete) finish();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => (failure = error.code ?? error.message));
    socket.on('close', () => {
      closed = true;
      finish();
    });
    const timer = setTimeout(() => {
      failure ??= options.untilClosed
        ? `connection still open after ${options.timeoutMs} ms`
        : `no whole answer within ${options.timeoutMs} ms`;
      finish();
    }, options.timeoutMs);
  });
}

/**
 * The headers with a Content-Length for the body: Node's client sends the body of a GET, DELETE
 * or OPTIONS without one, so the server would read it as the start of the next request.
 */
function framed(request: HttpExchange): Record<string, string> {
  const headers = { ...request.headers };
  const named = Object.keys(headers).map((name) => name.toLowerCase());
  if (request.body !== undefined && !named.includes('content-length') && !named.includes('transfer-encoding')) {
    headers['content-length'] = String(Buffer.byteLength(request.body));
  }
  return headers;
}

function failed(failure: string): Omit<RawResponse, 'elapsedMs'> {
  return { status: 0, headers: {}, text: '', json: undefined, failure };
}

function parseJson(headers: Record<string, string>, text: string): unknown {
  if (!(headers['content-type'] ?? '').includes('json') || text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first response on a connection, from its raw bytes, and whether all of it is there. */
function parseResponse(raw: string): Pick<RawResponse, 'status' | 'headers' | 'text' | 'json'> & { complete: boolean } {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd === -1) return { status: 0, headers: {}, text: raw, json: undefined, complete: false };
  const [statusLine = '', ...headerLines] = raw.slice(0, headEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length']);
  const rest = Buffer.from(raw.slice(headEnd + 4));
  const complete = Number.isInteger(length) && rest.length >= length;
  const text = (complete ? rest.subarray(0, length) : rest).toString('utf8');
  return {
    status: Number(statusLine.split(' ')[1]) || 0,
    headers,
    text,
    json: parseJson(headers, text),
    complete,
  };
}

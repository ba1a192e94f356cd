import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';

/** How the server answers one request. */
export type ScriptedAnswer = (request: IncomingMessage, response: ServerResponse) => void;

export interface SeenRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/** JSON, with a status and headers. */
export const jsonAnswer =
  (body: unknown, status = 200, headers: Record<string, string> = {}): ScriptedAnswer =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };

/** A bare status with an HTML body, as proxies and overloaded servers answer. */
export const statusAnswer =
  (status: number, headers: Record<string, string> = {}): ScriptedAnswer =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': 'text/html', ...headers });
    response.end(`<html><body>${status}</body></html>`);
  };

/** No answer at all: the client's timeout has to end it. */
export const silentAnswer: ScriptedAnswer = () => undefined;

/**
 * An HTTP server on loopback that answers each request with the next answer of its script (a 500
 * once the script is used up) and records what it was asked: the stand-in for a search provider
 * that tests tell to rate-limit, fail, hang or answer.
 */
export class ScriptedHttpServer {
  readonly requests: SeenRequest[] = [];
  private script: ScriptedAnswer[] = [];

  private constructor(
    private readonly server: Server,
    readonly base: string,
  ) {}

  static async start(): Promise<ScriptedHttpServer> {
    const started: { server?: ScriptedHttpServer } = {};
    const server = createServer((request, response) => started.server!.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    started.server = new ScriptedHttpServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return started.server;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.requests.push({
        method: request.method ?? 'GET',
        url: new URL(request.url ?? '/', this.base),
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      (this.script.shift() ?? statusAnswer(500))(request, response);
    });
  }

  /** Replaces the script and forgets the requests seen so far. */
  answer(...script: ScriptedAnswer[]): void {
    this.script = script;
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

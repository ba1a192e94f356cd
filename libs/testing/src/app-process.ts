import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './wait-for';

const ROOT = join(__dirname, '..', '..', '..');
export type AppName = 'api' | 'worker' | 'cli';

export function entryPoint(app: AppName): string {
  return join(ROOT, 'dist', 'apps', app, 'src', 'main.js');
}

export interface LogLine {
  timestamp: string;
  level: string;
  logger: string;
  message: string;
  request_id?: string;
  [key: string]: unknown;
}

/**
 * One of our apps as a real child process, built by `npm run build`: started with its own
 * environment, its JSON log lines collected, stopped with a real signal.
 */
export class AppProcess {
  readonly lines: LogLine[] = [];
  readonly rawStdout: string[] = [];
  stderr = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once its output is read to the end, which may be after it exited. */
  private readonly closed: Promise<void>;
  private exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    readonly app: AppName,
    private readonly child: ChildProcess,
  ) {
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        this.rawStdout.push(line);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          // kept in rawStdout; the log format tests look there
        }
        newline = buffer.indexOf('\n');
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
    });
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
  }

  static start(app: AppName, env: Record<string, string>): AppProcess {
    const child = spawn(process.execPath, [entryPoint(app)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new AppProcess(app, child);
  }

  /** Starts the app and waits until it answers `GET /health` on `port`. */
  static async startServing(app: 'api' | 'worker', env: Record<string, string>, port: number): Promise<AppProcess> {
    const process = AppProcess.start(app, env);
    try {
      await waitFor(
        `${app} to serve on port ${port}`,
        async () => {
          if (process.exitStatus) {
            throw new Error(`${app} exited: ${JSON.stringify(process.exitStatus)} ${process.stderr}`);
          }
          const response = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
          return response?.ok;
        },
        20000,
      );
    } catch (error) {
      process.kill('SIGKILL');
      throw error;
    }
    return process;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** How it exited; undefined while it runs. */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitStatus;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }

  /** Waits until it has exited and its last log lines are read. */
  async waitForExit(timeoutMs = 30000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const status = await waitFor(`${this.app} to exit`, () => this.exitStatus, timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
    return status;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.kill('SIGTERM');
    try {
      await this.waitForExit(15000);
    } catch {
      this.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Waits for a log line matching `predicate`. */
  waitForLog(what: string, predicate: (line: LogLine) => boolean, timeoutMs = 15000): Promise<LogLine> {
    return waitFor(`log line: ${what}`, () => this.lines.find(predicate), timeoutMs);
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runToCompletion(process.execPath, [entryPoint('cli'), ...args], env);
}

/**
 * Runs a command from the repository's root to completion, with only PATH, `NODE_ENV=test` and
 * `env` in its environment, and collects what it printed.
 */
export function runToCompletion(command: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

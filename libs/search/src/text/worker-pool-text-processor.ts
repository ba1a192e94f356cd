import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DomainError, ErrorCode, untilAborted } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Semaphore } from 'async-mutex';
import { Piscina } from 'piscina';
import { TextProcessor } from './text-processor';
import { TextProcessingTimeoutError } from './text.errors';
import { PdfDocument, ReadablePage } from '../pages/page-reader';
import { RankedPassage } from './passages';
import {
  DocumentText,
  HtmlDocument,
  IndexedText,
  PassageChoiceInput,
  SentenceScan,
  SentenceScanInput,
} from './text-tasks';

/** Built by `npm run build` beside this file; the threads load it as JavaScript. */
const WORKER_FILE = join(__dirname, 'text.worker.js');

type TaskName = 'indexDocument' | 'scanSentences' | 'extractHtml' | 'extractPdf' | 'rankPassages';

/**
 * Runs text tasks in a pool of worker threads (piscina), each under a time limit: a task that
 * runs longer has its thread stopped (the pool starts another) and its caller gets a
 * TextProcessingTimeoutError.
 */
@Injectable()
export class WorkerPoolTextProcessor extends TextProcessor implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('TextProcessor');
  /**
   * Admits no more tasks than there are threads, so a task's time limit counts its own run and
   * not its wait behind others (a research reads up to 50 documents at once).
   */
  private readonly slots: Semaphore;
  private pool: Piscina | undefined;
  private closing = false;

  constructor(private readonly config: AppConfig) {
    super();
    this.slots = new Semaphore(config.textWorkerThreads);
  }

  onModuleInit(): void {
    if (!existsSync(WORKER_FILE)) throw new Error(`the text worker ${WORKER_FILE} is missing; run npm run build`);
    this.pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: this.config.textWorkerThreads,
      maxThreads: this.config.textWorkerThreads,
      closeTimeout: this.config.textTaskTimeoutMs,
    });
  }

  /**
   * After the HTTP server has closed (Nest calls onModuleDestroy before that), so requests still
   * in flight during a graceful shutdown finish their text work.
   */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.pool?.close();
  }

  indexDocument(input: DocumentText, signal?: AbortSignal): Promise<IndexedText> {
    return this.run('indexDocument', input, input.title.length + input.text.length, signal);
  }

  scanSentences(input: SentenceScanInput, signal?: AbortSignal): Promise<SentenceScan> {
    return this.run('scanSentences', input, input.text.length, signal);
  }

  extractHtml(input: HtmlDocument, signal?: AbortSignal): Promise<ReadablePage> {
    return this.run('extractHtml', input, input.html.length, signal);
  }

  extractPdf(input: PdfDocument, signal?: AbortSignal): Promise<ReadablePage> {
    return this.run('extractPdf', input, input.data.length, signal);
  }

  rankPassages(input: PassageChoiceInput, signal?: AbortSignal): Promise<RankedPassage[]> {
    return this.run('rankPassages', input, input.text.length, signal);
  }

  private run<T>(name: TaskName, input: unknown, characters: number, signal?: AbortSignal): Promise<T> {
    const pool = this.pool;
    if (!pool || this.closing) {
      return Promise.reject(new DomainError(ErrorCode.ShutdownInProgress, 'the text workers are shutting down'));
    }
    const admitted = this.slots.runExclusive(async () => {
      signal?.throwIfAborted();
      const task = new AbortController();
      const timer = setTimeout(() => {
        this.logger.warn({ task: name, characters, timeout_ms: this.config.textTaskTimeoutMs }, 'text task timed out');
        task.abort(new TextProcessingTimeoutError(name, characters, this.config.textTaskTimeoutMs));
      }, this.config.textTaskTimeoutMs);
      const forward = () => task.abort(signal?.reason);
      signal?.addEventListener('abort', forward, { once: true });
      try {
        return (await pool.run(input, { name, signal: task.signal })) as T;
      } catch (error) {
        // Piscina rejects with its own AbortError; the reason says whether time ran out or the caller left.
        throw task.signal.aborted ? task.signal.reason : error;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', forward);
      }
    });
    return untilAborted(admitted, signal);
  }
}

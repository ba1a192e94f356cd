import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { DomainError, ErrorCode, NotFoundError, ValidationError, decodeCursor, encodeCursor } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable, Logger } from '@nestjs/common';
import { contentHash } from '../content-hash';
import { TextProcessor } from '../text/text-processor';
import { DocumentTooLargeError } from './corpus.errors';
import { CorpusRepository } from './corpus.repository';
import { DocumentEntity } from './document.entity';

/** A document as given: its text, or (`format: 'html'`) an HTML page to read it from; text needs a title. */
export interface NewDocument {
  title?: string;
  text: string;
  format?: 'text' | 'html';
  url?: string | null;
  metadata?: Record<string, unknown>;
}

export interface DocumentList {
  items: DocumentEntity[];
  nextCursor: string | null;
}

export interface IngestReport {
  files: number;
  /** New files. */
  created: number;
  /** Files whose content changed since they were ingested: their document (and passages) replaced. */
  updated: number;
  /** Files already stored as they are: nothing done. */
  unchanged: number;
  /** Files not ingested, each with why, in one line. */
  skipped: { path: string; reason: string }[];
}

export type IngestOutcome = 'added' | 'updated' | 'unchanged' | 'skipped';

/** Told about each file as it is done, for a progress display. */
export type IngestListener = (file: { path: string; outcome: IngestOutcome; done: number; total: number }) => void;

const TEXT_EXTENSIONS = new Set(['.md', '.markdown', '.txt']);
const HTML_EXTENSIONS = new Set(['.html', '.htm']);
/** Most pages of a PDF ingested. */
const PDF_MAX_PAGES = 2000;
const TITLE_MAX_LENGTH = 500;

@Injectable()
export class CorpusService {
  private readonly logger = new Logger('Corpus');

  constructor(
    private readonly repository: CorpusRepository,
    private readonly config: AppConfig,
    private readonly textProcessor: TextProcessor,
  ) {}

  /**
   * Stores a document, indexed by passage; the same text twice gives back the first one
   * (`created: false`). HTML is read as web pages are, and its readable text stored.
   */
  async add(tenantId: string, input: NewDocument): Promise<{ document: DocumentEntity; created: boolean }> {
    const { title, text } = await this.readableText(input);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > this.config.documentMaxBytes) throw new DocumentTooLargeError(bytes, this.config.documentMaxBytes);
    // A text already stored is not indexed again (seconds for a large one, at every re-ingest).
    const hash = contentHash(text);
    const stored = await this.repository.findByContentHash(tenantId, hash);
    if (stored) return { document: stored, created: false };
    const indexed = await this.textProcessor.indexDocument({ title, text, passages: this.config.passages });
    const document = Object.assign(new DocumentEntity(), {
      id: randomUUID(),
      tenantId,
      title,
      url: input.url ?? null,
      text,
      metadata: input.metadata ?? {},
      contentHash: hash,
      createdAt: new Date(),
    });
    const outcome = await this.repository.insertOrGetExisting(document, indexed);
    if (outcome.created) this.logger.log({ document_id: document.id, bytes }, 'document added');
    return outcome;
  }

  /** The title and text of a document as given: text as it is, HTML through the page reader. */
  private async readableText(input: NewDocument): Promise<{ title: string; text: string }> {
    const problem = (field: string, message: string) => new ValidationError(message, [{ field, message }]);
    if (input.format === 'html') {
      const read = await this.textProcessor.extractHtml({ html: input.text, fallbackTitle: input.url ?? 'Untitled' });
      if (!read.text.trim()) throw problem('text', 'the HTML has no readable text');
      return { title: (input.title ?? read.title).trim().slice(0, TITLE_MAX_LENGTH), text: read.text };
    }
    if (input.title === undefined) throw problem('title', 'title is required unless format is html');
    return { title: input.title.trim(), text: input.text };
  }

  async get(tenantId: string, id: string): Promise<DocumentEntity> {
    const document = await this.repository.findById(tenantId, id);
    if (!document) throw new NotFoundError('document', id);
    return document;
  }

  async list(tenantId: string, limit: number, cursor?: string): Promise<DocumentList> {
    const page = await this.repository.list(tenantId, limit, cursor ? decodeCursor(cursor) : undefined);
    const last = page.items.at(-1);
    return {
      items: page.items,
      nextCursor: page.hasMore && last ? encodeCursor(last) : null,
    };
  }

  async remove(tenantId: string, id: string): Promise<void> {
    if (!(await this.repository.delete(tenantId, id))) throw new NotFoundError('document', id);
  }

  /**
   * Adds every `.md`, `.markdown`, `.txt`, `.html`, `.htm` and `.pdf` file under a folder; the
   * title of a text file is its first heading or its name, an HTML file's or a PDF's is its own. A file is known by its
   * path in the folder: unchanged, it is left alone; changed, its document and passages are
   * replaced. A file that cannot be read, is not UTF-8 text or holds nothing readable is skipped
   * with a one-line reason.
   */
  async ingestFolder(tenantId: string, folder: string, listener?: IngestListener): Promise<IngestReport> {
    const report: IngestReport = { files: 0, created: 0, updated: 0, unchanged: 0, skipped: [] };
    const paths = (await listFiles(folder)).filter((path) => {
      const extension = extname(path).toLowerCase();
      return TEXT_EXTENSIONS.has(extension) || HTML_EXTENSIONS.has(extension) || extension === '.pdf';
    });
    for (const path of paths) {
      report.files += 1;
      const name = relative(folder, path);
      const outcome = await this.ingestFile(tenantId, path, name).catch((error: unknown) => {
        report.skipped.push({ path: name, reason: oneLine(error) });
        return 'skipped' as const;
      });
      if (outcome === 'added') report.created += 1;
      else if (outcome !== 'skipped') report[outcome] += 1;
      listener?.({ path: name, outcome, done: report.files, total: paths.length });
    }
    return report;
  }

  private async ingestFile(tenantId: string, path: string, name: string): Promise<Exclude<IngestOutcome, 'skipped'>> {
    const bytes = await readFile(path);
    const metadata = { source: 'ingest', path: name };
    const extension = extname(path).toLowerCase();
    let input: NewDocument;
    if (extension === '.pdf') {
      const read = await this.textProcessor
        .extractPdf({ data: new Uint8Array(bytes), fallbackTitle: name, maxPages: PDF_MAX_PAGES })
        .catch(() => {
          throw new Error('not a readable PDF');
        });
      if (!read.text.trim()) throw new Error('the PDF has no text (a scan needs OCR, which is not done)');
      input = { title: read.title, text: read.text, metadata };
    } else {
      const content = decodeUtf8(bytes);
      if (content.trim().length === 0) throw new Error('empty');
      if (content.includes('\u0000')) throw new Error('binary content');
      input = HTML_EXTENSIONS.has(extension)
        ? { text: content, format: 'html', metadata }
        : { title: titleOf(content, name), text: content, metadata };
    }
    const { document, created } = await this.add(tenantId, input);
    // Earlier versions of the file go; run again after an interruption, this finishes the job.
    const replaced = await this.repository.deleteIngestedVersions(tenantId, name, document.id);
    const storedAs = document.metadata?.path;
    if (!created && storedAs !== name) {
      // The text is another file's, or a document added through the API: stored once, and said so.
      throw new Error(`the same text is already in the corpus${typeof storedAs === 'string' ? ` as ${storedAs}` : ''}`);
    }
    if (!created) return 'unchanged';
    return replaced > 0 ? 'updated' : 'added';
  }
}

function titleOf(text: string, fileName: string): string {
  const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/m.exec(text)?.[1];
  return (heading ?? fileName.replace(/\.[^.]+$/, '')).slice(0, 500);
}

/** The files under a folder, sorted; a folder that is missing or cannot be read is a one-line error. */
async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new IngestFolderError(folder, error);
  });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.')) files.push(...(await listFiles(path)));
    // A link is followed when the file is read; a broken one is reported then.
    else if (entry.isFile() || entry.isSymbolicLink()) files.push(path);
  }
  return files;
}

/** A folder to ingest that is missing, not a folder, or unreadable. */
export class IngestFolderError extends DomainError {
  constructor(folder: string, cause: NodeJS.ErrnoException) {
    const why =
      cause.code === 'ENOENT'
        ? 'does not exist'
        : cause.code === 'ENOTDIR'
          ? 'is not a folder'
          : cause.code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${cause.code ?? cause.message})`;
    super(ErrorCode.NotFound, `${folder} ${why}`, { folder }, false);
  }
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error('not UTF-8 text');
  }
}

/** What went wrong with a file, in one line: a system error by its code, never a stack. */
function oneLine(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EACCES') return 'cannot be read (permission denied)';
  if (code === 'EISDIR') return 'is a folder';
  if (code) return `cannot be read (${code})`;
  return (message ?? String(error)).split('\n')[0]!;
}

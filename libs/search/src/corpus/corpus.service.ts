import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { NotFoundError, decodeCursor, encodeCursor } from '@app/common';
import { AppConfig } from '@app/config';
import { Injectable, Logger } from '@nestjs/common';
import { TextProcessor } from '../text/text-processor';
import { DocumentTooLargeError } from './corpus.errors';
import { CorpusRepository } from './corpus.repository';
import { DocumentEntity } from './document.entity';

export interface NewDocument {
  title: string;
  text: string;
  url?: string | null;
  metadata?: Record<string, unknown>;
}

export interface DocumentList {
  items: DocumentEntity[];
  nextCursor: string | null;
}

export interface IngestReport {
  files: number;
  created: number;
  duplicates: number;
  skipped: { path: string; reason: string }[];
}

const INGESTED_EXTENSIONS = new Set(['.md', '.markdown', '.txt']);

@Injectable()
export class CorpusService {
  private readonly logger = new Logger('Corpus');

  constructor(
    private readonly repository: CorpusRepository,
    private readonly config: AppConfig,
    private readonly textProcessor: TextProcessor,
  ) {}

  /** Stores a document; the same text twice gives back the first one (`created: false`). */
  async add(tenantId: string, input: NewDocument): Promise<{ document: DocumentEntity; created: boolean }> {
    const bytes = Buffer.byteLength(input.text, 'utf8');
    if (bytes > this.config.documentMaxBytes) throw new DocumentTooLargeError(bytes, this.config.documentMaxBytes);
    const title = input.title.trim();
    const { searchTitle, searchText } = await this.textProcessor.indexDocument({ title, text: input.text });
    const document = Object.assign(new DocumentEntity(), {
      id: randomUUID(),
      tenantId,
      title,
      url: input.url ?? null,
      text: input.text,
      metadata: input.metadata ?? {},
      contentHash: contentHash(input.text),
      searchTitle,
      searchText,
      createdAt: new Date(),
    });
    const outcome = await this.repository.insertOrGetExisting(document);
    if (outcome.created) this.logger.log({ document_id: document.id, bytes }, 'document added');
    return outcome;
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

  /** Adds every `.md`, `.markdown` and `.txt` file under a folder; the title is the first heading or the file name. */
  async ingestFolder(tenantId: string, folder: string): Promise<IngestReport> {
    const report: IngestReport = { files: 0, created: 0, duplicates: 0, skipped: [] };
    for (const path of await listFiles(folder)) {
      if (!INGESTED_EXTENSIONS.has(extname(path).toLowerCase())) continue;
      report.files += 1;
      const name = relative(folder, path);
      const text = await readFile(path, 'utf8');
      if (text.trim().length === 0 || text.includes('\u0000')) {
        report.skipped.push({ path: name, reason: text.trim().length === 0 ? 'empty' : 'binary content' });
        continue;
      }
      try {
        const { created } = await this.add(tenantId, {
          title: titleOf(text, name),
          text,
          metadata: { source: 'ingest', path: name },
        });
        report[created ? 'created' : 'duplicates'] += 1;
      } catch (error) {
        report.skipped.push({ path: name, reason: (error as Error).message });
      }
    }
    return report;
  }
}

function contentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function titleOf(text: string, fileName: string): string {
  const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/m.exec(text)?.[1];
  return (heading ?? fileName.replace(/\.[^.]+$/, '')).slice(0, 500);
}

async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.')) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

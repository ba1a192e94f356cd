import { TextProcessor } from './text-processor';
import { PdfDocument, ReadablePage } from '../pages/page-reader';
import {
  DocumentText,
  HtmlDocument,
  IndexedText,
  PassageChoiceInput,
  SentenceScan,
  SentenceScanInput,
  extractHtml,
  extractPdf,
  indexDocument,
  rankPassages,
  scanSentences,
} from './text-tasks';
import { RankedPassage } from './passages';

/** Runs the text tasks on the calling thread: for unit tests and small texts, not for the apps. */
export class InlineTextProcessor extends TextProcessor {
  async indexDocument(input: DocumentText, signal?: AbortSignal): Promise<IndexedText> {
    signal?.throwIfAborted();
    return indexDocument(input);
  }

  async scanSentences(input: SentenceScanInput, signal?: AbortSignal): Promise<SentenceScan> {
    signal?.throwIfAborted();
    return scanSentences(input);
  }

  async extractHtml(input: HtmlDocument, signal?: AbortSignal): Promise<ReadablePage> {
    signal?.throwIfAborted();
    return extractHtml(input);
  }

  async extractPdf(input: PdfDocument, signal?: AbortSignal): Promise<ReadablePage> {
    signal?.throwIfAborted();
    return extractPdf(input);
  }

  async rankPassages(input: PassageChoiceInput, signal?: AbortSignal): Promise<RankedPassage[]> {
    signal?.throwIfAborted();
    return rankPassages(input);
  }
}

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

/**
 * Text work that takes time in proportion to the text: indexing a document, scanning its
 * sentences, choosing the passages of a long source to read, reading an HTML document or a PDF. The apps run it in worker threads, off the event loop that serves requests and
 * renews leases; the signal abandons a task whose caller no longer waits for it.
 */
export abstract class TextProcessor {
  abstract indexDocument(input: DocumentText, signal?: AbortSignal): Promise<IndexedText>;
  abstract scanSentences(input: SentenceScanInput, signal?: AbortSignal): Promise<SentenceScan>;
  abstract extractHtml(input: HtmlDocument, signal?: AbortSignal): Promise<ReadablePage>;
  abstract extractPdf(input: PdfDocument, signal?: AbortSignal): Promise<ReadablePage>;
  abstract rankPassages(input: PassageChoiceInput, signal?: AbortSignal): Promise<RankedPassage[]>;
}

import { TextProcessor } from './text-processor';
import { DocumentText, IndexedText, SentenceScan, SentenceScanInput, indexDocument, scanSentences } from './text-tasks';

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
}

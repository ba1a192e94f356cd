/**
 * The module each text worker thread loads (see worker-pool-text-processor.ts); a task names the
 * export it runs. Built to dist as JavaScript beside its imports, which are relative on purpose.
 */
export { extractHtml, extractPdf, indexDocument, rankPassages, scanSentences } from './text-tasks';

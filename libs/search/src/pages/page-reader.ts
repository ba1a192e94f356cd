import { FetchedPage } from '../fetch/safe-fetcher';
import { htmlLibraries } from './html-libraries';

/** What a research reads of a page: its title and its text, which quotes are taken from. */
export interface ReadablePage {
  title: string;
  text: string;
  /** The page's language as it declares it (`<html lang>`), if it does. */
  language: string | null;
  /** Whether Readability found an article; false when the whole body was taken instead. */
  article: boolean;
}

/** How HTML becomes text: blocks become paragraphs, links their text, and images, scripts and forms nothing. */
const TEXT_OPTIONS = {
  wordwrap: false,
  preserveNewlines: false,
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'script', format: 'skip' },
    { selector: 'style', format: 'skip' },
    { selector: 'noscript', format: 'skip' },
    { selector: 'form', format: 'skip' },
    { selector: 'nav', format: 'skip' },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'h4', options: { uppercase: false } },
    { selector: 'h5', options: { uppercase: false } },
    { selector: 'h6', options: { uppercase: false } },
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
  ],
};

/**
 * The readable text of a fetched page. HTML goes through Mozilla's Readability (the reader view
 * of Firefox) on a linkedom DOM, which keeps the article and drops navigation, ads and
 * boilerplate; its article HTML becomes text with `html-to-text`, one paragraph per block. A page
 * Readability finds no article in (a list, a short page) is read whole. Plain text and Markdown
 * are kept as they came.
 */
export function readPage(page: FetchedPage): ReadablePage {
  if (page.format !== 'html') {
    return {
      title: titleFromText(page.body, page.finalUrl),
      text: normalise(page.body),
      language: null,
      article: false,
    };
  }
  return readHtml(page.body, page.finalUrl);
}

/** The readable text of an HTML document (a fetched page, an uploaded file); `fallbackTitle` when it names none. */
export function readHtml(source: string, fallbackTitle: string): ReadablePage {
  const { parseHTML, Readability } = htmlLibraries();
  const { document } = parseHTML(source);
  const language = document.documentElement?.getAttribute('lang')?.trim() || null;
  const pageTitle = document.querySelector('title')?.textContent?.trim() ?? '';
  // Readability changes the document it reads: the fallback reads the body from a fresh parse.
  const parsed = new Readability(document as unknown as ConstructorParameters<typeof Readability>[0]).parse();
  const articleText = parsed?.content ? toText(parsed.content) : '';
  if (parsed && articleText.length > 0) {
    return {
      title: parsed.title?.trim() || pageTitle || fallbackTitle,
      text: articleText,
      language: parsed.lang?.trim() || language,
      article: true,
    };
  }
  const body = parseHTML(source).document.body;
  return { title: pageTitle || fallbackTitle, text: toText(body?.innerHTML ?? ''), language, article: false };
}

function toText(markup: string): string {
  return normalise(htmlLibraries().convert(markup, TEXT_OPTIONS));
}

/** One form of line breaks, no trailing spaces, at most one empty line between paragraphs. */
function normalise(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** A Markdown page's first heading, else its first line, else its URL. */
function titleFromText(text: string, url: string): string {
  const heading = /^#{1,6}\s+(.+)$/m.exec(text)?.[1]?.trim();
  const firstLine = text
    .split('\n')
    .find((line) => line.trim().length > 0)
    ?.trim();
  return (heading ?? firstLine ?? url).slice(0, 300);
}

/** What a PDF's text is read with: its bytes, and at most how many pages. */
export interface PdfDocument {
  data: Uint8Array;
  /** The title when the PDF names none and its text has no first line: its URL or file name. */
  fallbackTitle: string;
  maxPages: number;
}

/**
 * The text of a PDF, page after page, with `pdf-parse` (Mozilla's pdf.js): its title from the
 * document's information, else its first line. Loaded on first use, in the text worker threads.
 * A PDF that cannot be parsed throws.
 */
export async function readPdf({ data, fallbackTitle, maxPages }: PdfDocument): Promise<ReadablePage> {
  const { PDFParse } = await import('pdf-parse');
  const parser = new PDFParse({ data, verbosity: 0 });
  try {
    const info = await parser.getInfo().catch(() => null);
    const result = await parser.getText({ first: maxPages, pageJoiner: '' });
    const text = normalise(result.text);
    const declared = (info?.info as { Title?: unknown } | undefined)?.Title;
    const title =
      typeof declared === 'string' && declared.trim() ? declared.trim() : titleFromText(text, fallbackTitle);
    return { title, text, language: null, article: false };
  } finally {
    await parser.destroy();
  }
}

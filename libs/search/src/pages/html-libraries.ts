interface HtmlLibraries {
  parseHTML: typeof import('linkedom').parseHTML;
  Readability: typeof import('@mozilla/readability').Readability;
  convert: typeof import('html-to-text').convert;
}

let loaded: HtmlLibraries | undefined;

/**
 * linkedom, Readability and html-to-text, loaded when the first HTML document is read: every
 * process that imports this library holds them otherwise, the api too (3.5 MB of heap loaded on
 * their own, marked at every full collection), although only the text worker threads read pages
 * and only the worker's search providers turn snippets into text.
 */
export function htmlLibraries(): HtmlLibraries {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
  return (loaded ??= {
    parseHTML: (require('linkedom') as typeof import('linkedom')).parseHTML,
    Readability: (require('@mozilla/readability') as typeof import('@mozilla/readability')).Readability,
    convert: (require('html-to-text') as typeof import('html-to-text')).convert,
  });
  /* eslint-enable @typescript-eslint/no-require-imports */
}

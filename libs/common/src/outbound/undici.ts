import type * as Undici from 'undici';

let loaded: typeof Undici | undefined;

/**
 * undici, loaded when the first outbound request is made (a webhook, a page, a search provider's
 * API): 5 MB of heap, loaded on its own, that the api, which makes none of them, would otherwise
 * hold and mark at every full collection.
 */
export function undici(): typeof Undici {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  return (loaded ??= require('undici') as typeof Undici);
}

/** A web search: what to look for, how many results, in which language. */
export interface WebQuery {
  text: string;
  limit: number;
  /** A BCP 47 tag such as `zh-TW` or `en`; the engine's default when absent. */
  language?: string;
  signal?: AbortSignal;
}

/** One result of a web search engine: where to read, not what the page says. */
export interface WebResult {
  url: string;
  title: string;
  /** The engine's excerpt; the page itself is fetched (and snapshotted) before anything is quoted. */
  snippet: string;
  publishedAt: Date | null;
  /** The engine's own relevance score, when it gives one; comparable only within one provider. */
  score: number | null;
  /** Which provider found it. */
  provider: string;
}

/** A web search engine: SearXNG, Tavily, Brave. */
export abstract class WebSearchProvider {
  abstract readonly name: string;
  abstract search(query: WebQuery): Promise<WebResult[]>;
}

/** Only http(s) URLs are results: an engine may return others (magnet:, javascript:). */
export function webUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

export function dateOrNull(value: unknown): Date | null {
  if (typeof value !== 'string' || value.length === 0) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** An engine's text field: trimmed, or `fallback` when absent or empty. */
export function textOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value.trim() ? value.trim() : fallback;
}

/**
 * The results worth reading of an engine's answer, in its order: web URLs only, each once (engines
 * merge the same page from several sources), at most `limit`.
 */
export function keepResults<T>(
  items: readonly T[],
  limit: number,
  urlOf: (item: T) => unknown,
  toResult: (item: T, url: string) => WebResult,
): WebResult[] {
  const seen = new Set<string>();
  const results: WebResult[] = [];
  for (const item of items) {
    if (results.length >= limit) break;
    const url = webUrl(urlOf(item));
    if (!url || seen.has(url)) continue;
    seen.add(url);
    results.push(toResult(item, url));
  }
  return results;
}

export function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

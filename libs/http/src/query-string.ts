/** On a parsed query: the names of its parameters whose percent-encoding is not UTF-8. */
export const UNDECODABLE_QUERY = Symbol('undecodable query parameters');

export type ParsedQuery = Record<string, string | string[]> & { [UNDECODABLE_QUERY]?: string[] };

/**
 * Fastify's query string parser, with one difference: its default leaves a name or value whose
 * percent-encoding is not UTF-8 (`%ED%A0%80`, a lone surrogate as a careless encoder writes it;
 * `%FF`) as the raw text, which would then be searched for or stored as if sent. Such parameters
 * are listed under `UNDECODABLE_QUERY`, for the validation pipe to refuse them by name.
 * Otherwise as Fastify's: `+` is a space, a repeated name gives an array, no prototype.
 */
export function parseQuery(text: string): ParsedQuery {
  const query = Object.create(null) as ParsedQuery;
  const undecodable: string[] = [];
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const rawName = at === -1 ? pair : pair.slice(0, at);
    const rawValue = at === -1 ? '' : pair.slice(at + 1);
    const name = decode(rawName);
    const value = decode(rawValue);
    if (name === undefined || value === undefined) undecodable.push(name ?? rawName);
    const key = name ?? rawName;
    const decoded = value ?? rawValue;
    const existing = query[key];
    if (existing === undefined) query[key] = decoded;
    else if (Array.isArray(existing)) existing.push(decoded);
    else query[key] = [existing, decoded];
  }
  if (undecodable.length > 0) Object.defineProperty(query, UNDECODABLE_QUERY, { value: undecodable });
  return query;
}

function decode(text: string): string | undefined {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return undefined;
  }
}

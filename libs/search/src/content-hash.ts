import { createHash } from 'node:crypto';

/** The SHA-256 of a text's UTF-8, in hex: how documents and sources are told apart, and cache keys made. */
export function contentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

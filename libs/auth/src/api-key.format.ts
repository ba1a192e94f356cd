import { hash, randomBytes } from 'node:crypto';

/**
 * `drs_<prefix>_<secret>`: 8 characters shown in lists to tell keys apart, then 32 random bytes
 * (256 bits) in base64url. The prefix is part of the hashed text, so it reveals nothing more.
 */
const KEY = /^drs_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{43})$/;
const PREFIX_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

export interface NewKey {
  /** The whole key: shown once, never stored. */
  text: string;
  /** `drs_<prefix>`: stored and shown in lists. */
  prefix: string;
  hash: string;
}

export function generateKey(): NewKey {
  const prefix = [...randomBytes(8)].map((byte) => PREFIX_ALPHABET[byte % PREFIX_ALPHABET.length]).join('');
  const text = `drs_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { text, prefix: `drs_${prefix}`, hash: hashKey(text) };
}

export function hashKey(text: string): string {
  return hash('sha256', text, 'hex');
}

/** Whether a presented key has our shape at all: anything else is refused without a lookup. */
export function isWellFormedKey(text: string): boolean {
  return KEY.test(text);
}

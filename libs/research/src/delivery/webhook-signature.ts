import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The `X-Signature` header of a webhook: `t=<unix seconds>,v1=<hex HMAC-SHA256>`, where the HMAC
 * is keyed by the tenant's webhook secret and taken over `<t>.<raw body>`. The timestamp is
 * signed so that a receiver can refuse a replayed old delivery (docs/webhooks.md).
 */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmac(secret, unixSeconds, body)}`;
}

/**
 * What a receiver does: true when the header carries a `v1` signature of this body by this secret,
 * made within `toleranceSeconds` of `nowSeconds`.
 */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const given = Buffer.from(parts.get('v1') ?? '', 'hex');
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, t, body), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function hmac(secret: string, unixSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
}

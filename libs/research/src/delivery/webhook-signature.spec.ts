import { createHmac } from 'node:crypto';
import { signatureHeader, verifySignature } from './webhook-signature';

describe('webhook signature', () => {
  const secret = 'whsec_0123456789abcdef';
  const body = '{"event":"research.completed","research":{"research_id":"r1"}}';

  it('is the documented HMAC-SHA256 of "<t>.<body>", hex, after t=', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signatureHeader(secret, body, 1_700_000_000)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies a fresh signature and refuses a changed body, another secret, or an old timestamp', () => {
    const header = signatureHeader(secret, body, 1_700_000_000);
    expect(verifySignature(secret, header, body, 1_700_000_010)).toBe(true);
    expect(verifySignature(secret, header, body.replace('r1', 'r2'), 1_700_000_010)).toBe(false);
    expect(verifySignature('whsec_other', header, body, 1_700_000_010)).toBe(false);
    expect(verifySignature(secret, header, body, 1_700_000_000 + 301)).toBe(false);
    expect(verifySignature(secret, 'v1=abc', body, 1_700_000_000)).toBe(false);
    expect(verifySignature(secret, 't=1700000000,v1=zz', body, 1_700_000_000)).toBe(false);
  });
});

import { loadConfig } from '@app/config';
import { FastifyInstance } from 'fastify';
import { createFastifyAdapter } from './fastify-adapter';

/** The adapter's Fastify instance with TRUST_PROXY as configured, and a route that tells the client address. */
async function serverTrusting(trustProxy: string | undefined): Promise<FastifyInstance> {
  const adapter = createFastifyAdapter({
    bodyLimitBytes: 1024,
    bodyTimeoutMs: 1000,
    headersTimeoutMs: 1000,
    trustProxy: loadConfig(trustProxy === undefined ? {} : { TRUST_PROXY: trustProxy }).trustProxy,
  });
  const fastify = adapter.getInstance();
  fastify.get('/ip', (request) => ({ ip: request.ip }));
  await fastify.ready();
  return fastify;
}

const CLIENT = '203.0.113.7';
const INGRESS = '10.1.2.3';

describe('the client address behind proxies (TRUST_PROXY)', () => {
  let server: FastifyInstance | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function ipSeen(
    trustProxy: string | undefined,
    from: string,
    forwardedFor: string | undefined,
  ): Promise<string> {
    server = await serverTrusting(trustProxy);
    const response = await server.inject({
      method: 'GET',
      url: '/ip',
      remoteAddress: from,
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    });
    return (response.json() as { ip: string }).ip;
  }

  it('ignores X-Forwarded-For by default: any client could write it', async () => {
    expect(await ipSeen(undefined, INGRESS, CLIENT)).toBe(INGRESS);
    expect(await ipSeen('false', INGRESS, CLIENT)).toBe(INGRESS);
  });

  it('takes the client from X-Forwarded-For when the proxies are trusted', async () => {
    expect(await ipSeen('true', INGRESS, `${CLIENT}, 10.9.9.9`)).toBe(CLIENT);
    expect(await ipSeen('true', INGRESS, undefined)).toBe(INGRESS);
  });

  it('trusts only as many proxies as it is told, so a forged first entry is not taken', async () => {
    expect(await ipSeen('1', INGRESS, `198.51.100.66, ${CLIENT}`)).toBe(CLIENT);
    expect(await ipSeen('2', INGRESS, `198.51.100.66, ${CLIENT}, 10.9.9.9`)).toBe(CLIENT);
  });

  it('trusts proxies by address and CIDR range, and no other peer', async () => {
    expect(await ipSeen('10.0.0.0/8', INGRESS, CLIENT)).toBe(CLIENT);
    expect(await ipSeen('192.168.0.0/16, 10.1.2.3', INGRESS, CLIENT)).toBe(CLIENT);
    expect(await ipSeen('192.168.0.0/16', INGRESS, CLIENT)).toBe(INGRESS);
    expect(await ipSeen('10.0.0.0/8', '198.51.100.66', CLIENT)).toBe('198.51.100.66');
  });
});

import { OutboundGuard, Resolve } from './outbound-guard';

describe('OutboundGuard', () => {
  const names: Record<string, string[]> = {
    'hooks.example.com': ['93.184.216.34'],
    'internal.example.com': ['10.0.0.7'],
    'mixed.example.com': ['93.184.216.34', '169.254.169.254'],
    'receiver.test': ['127.0.0.1'],
  };
  const resolve: Resolve = async (hostname) => {
    const addresses = names[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: 4 }));
  };
  const guard = new OutboundGuard([], resolve);

  it.each([
    ['http://127.0.0.1:9000/hook', 'blocked_address', 'loopback'],
    ['http://169.254.169.254/latest/meta-data', 'blocked_address', 'link-local'],
    ['http://10.0.0.1/hook', 'blocked_address', 'private'],
    ['http://[::1]:8080/hook', 'blocked_address', 'loopback'],
    ['http://[::ffff:127.0.0.1]/hook', 'blocked_address', 'loopback'],
    ['file:///etc/passwd', 'bad_url', 'file URLs'],
    ['ftp://hooks.example.com/x', 'bad_url', 'ftp URLs'],
    ['https://user:secret@hooks.example.com/x', 'bad_url', 'credentials'],
    ['not a url', 'bad_url', 'not a URL'],
  ])('refuses %s without DNS (%s)', (url, reason, words) => {
    const refusal = guard.check(url);
    expect(refusal).not.toBeInstanceOf(URL);
    expect(refusal).toMatchObject({ reason, message: expect.stringContaining(words) });
  });

  it('judges every address a host name resolves to, when asked to', async () => {
    await expect(guard.checkResolved('https://hooks.example.com/x')).resolves.toBeInstanceOf(URL);
    await expect(guard.checkResolved('https://internal.example.com/x')).resolves.toMatchObject({
      reason: 'blocked_address',
      message: expect.stringContaining('private'),
    });
    await expect(guard.checkResolved('https://mixed.example.com/x')).resolves.toMatchObject({
      reason: 'blocked_address',
    });
    await expect(guard.checkResolved('https://nowhere.example.com/x')).resolves.toMatchObject({
      reason: 'bad_url',
      message: 'nowhere.example.com does not resolve',
    });
  });

  it('lets listed hosts and networks through, and nothing else', async () => {
    const listed = new OutboundGuard(['receiver.test', '127.0.0.1'], resolve);
    await expect(listed.checkResolved('http://receiver.test:9000/hook')).resolves.toBeInstanceOf(URL);
    expect(listed.check('http://127.0.0.1:9000/hook')).toBeInstanceOf(URL);
    expect(listed.check('http://10.0.0.1/hook')).toMatchObject({ reason: 'blocked_address' });
  });

  it('fails the connection lookup of a name that resolves to a refused address', async () => {
    const looked = await new Promise<{ error: Error | null }>((done) =>
      guard.lookup('internal.example.com', {}, (error) => done({ error })),
    );
    expect(looked.error).toMatchObject({ name: 'BlockedAddressError', hostname: 'internal.example.com' });
    const allowed = await new Promise<{ error: Error | null; address: unknown }>((done) =>
      guard.lookup('hooks.example.com', {}, (error, address) => done({ error, address })),
    );
    expect(allowed).toEqual({ error: null, address: '93.184.216.34' });
  });
});

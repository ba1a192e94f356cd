import { AddressPolicy } from './address-policy';

describe('AddressPolicy', () => {
  const policy = new AddressPolicy();

  it.each([['93.184.215.14'], ['8.8.8.8'], ['2606:4700:4700::1111'], ['::ffff:8.8.8.8']])(
    'lets the public address %s through',
    (address) => {
      expect(policy.refusal(address)).toBeNull();
    },
  );

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.100.100.200', 'carrier-grade NAT'],
    ['fd00:ec2::254', 'unique-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'],
    ['240.0.0.1', 'reserved'],
    // IPv6 forms that carry an IPv4 address are judged by it.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['::127.0.0.1', 'loopback'],
  ])('refuses %s as %s', (address, kind) => {
    expect(policy.refusal(address)).toContain(kind);
  });

  it('lets through the networks and hosts an operator lists, and only those', () => {
    const allowing = new AddressPolicy(['127.0.0.0/8', '10.0.0.5', 'searxng.internal', '[fd00::1]']);
    expect(allowing.refusal('127.0.0.1')).toBeNull();
    expect(allowing.refusal('::ffff:127.0.0.1')).toBeNull();
    expect(allowing.refusal('10.0.0.5')).toBeNull();
    expect(allowing.refusal('10.0.0.6')).toContain('private');
    expect(allowing.refusal('fd00::1')).toBeNull();
    expect(allowing.refusal('169.254.169.254')).toContain('link-local');
    expect(allowing.allowsHost('SearXNG.internal')).toBe(true);
    expect(allowing.allowsHost('other.internal')).toBe(false);
  });

  it('says what is wrong with a network it cannot read', () => {
    expect(() => new AddressPolicy(['10.0.0.0/99'])).toThrow('"10.0.0.0/99" is not a CIDR network');
  });
});

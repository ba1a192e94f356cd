import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Which addresses the service may connect to on a URL's behalf: public unicast addresses only,
 * unless an operator listed a host or a network in `FETCH_ALLOWED_HOSTS`.
 *
 * Refused (ipaddr.js names the ranges): loopback, private (RFC 1918), link-local (with the cloud
 * metadata address 169.254.169.254), carrier-grade NAT (100.64.0.0/10, where some clouds put
 * their metadata service), unique-local IPv6 (fd00:ec2::254 among them), multicast, broadcast,
 * unspecified, reserved and documentation ranges, and the IPv6 forms that carry an IPv4 address
 * (IPv4-mapped, 6to4, Teredo, NAT64), which are judged by the IPv4 address they carry.
 */
export class AddressPolicy {
  private readonly hosts: ReadonlySet<string>;
  private readonly networks: ReadonlyArray<[Address, number]>;

  /** `allowed`: host names, IP addresses and CIDR networks (`FETCH_ALLOWED_HOSTS`). */
  constructor(allowed: readonly string[] = []) {
    const hosts = new Set<string>();
    const networks: [Address, number][] = [];
    for (const entry of allowed.map((value) => value.trim().toLowerCase()).filter(Boolean)) {
      const network = parseNetwork(entry);
      if (network) networks.push(network);
      else hosts.add(stripBrackets(entry));
    }
    this.hosts = hosts;
    this.networks = networks;
  }

  /** Whether `host` (a name or an address) was listed by name: its addresses are not judged. */
  allowsHost(host: string): boolean {
    return this.hosts.has(stripBrackets(host.toLowerCase()));
  }

  /** Null when the address may be connected to; otherwise why not. */
  refusal(address: string): string | null {
    if (!ipaddr.isValid(address)) return `"${address}" is not an IP address`;
    const parsed = ipaddr.parse(address);
    if (this.networks.some(([base, bits]) => sameKind(parsed, base) && parsed.match(base, bits))) return null;
    const judged = embeddedIpv4(parsed) ?? parsed;
    if (judged !== parsed && this.networks.some(([base, bits]) => sameKind(judged, base) && judged.match(base, bits))) {
      return null;
    }
    const range = judged.range();
    return range === 'unicast' ? null : `${address} is a ${describe(range)} address`;
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function parseNetwork(entry: string): [Address, number] | undefined {
  if (entry.includes('/')) {
    try {
      return ipaddr.parseCIDR(entry);
    } catch {
      throw new Error(`"${entry}" is not a CIDR network`);
    }
  }
  const bare = stripBrackets(entry);
  if (!ipaddr.isValid(bare)) return undefined;
  const address = ipaddr.parse(bare);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}

function sameKind(a: Address, b: Address): boolean {
  return a.kind() === b.kind();
}

/** The IPv4 address an IPv6 address stands for or tunnels to, if any. */
function embeddedIpv4(address: Address): ipaddr.IPv4 | undefined {
  if (address.kind() !== 'ipv6') return undefined;
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const parts = v6.parts;
  const v4 = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  switch (v6.range()) {
    // 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
    case '6to4':
      return v4(parts[1]!, parts[2]!);
    // 64:ff9b::/96 (NAT64) and 64:ff9b:1::/48 carry the address in their last 32 bits.
    case 'rfc6052':
    case 'rfc6145':
      return v4(parts[6]!, parts[7]!);
    // 2001:0::/32: the client's address, inverted, in the last 32 bits.
    case 'teredo':
      return v4(parts[6]! ^ 0xffff, parts[7]! ^ 0xffff);
    default:
      // ::a.b.c.d, the deprecated IPv4-compatible form.
      return parts.slice(0, 6).every((part) => part === 0) && (parts[6] !== 0 || parts[7]! > 1)
        ? v4(parts[6]!, parts[7]!)
        : undefined;
  }
}

function describe(range: string): string {
  const names: Record<string, string> = {
    loopback: 'loopback',
    private: 'private',
    linkLocal: 'link-local (cloud metadata among them)',
    carrierGradeNat: 'carrier-grade NAT',
    uniqueLocal: 'unique-local',
    multicast: 'multicast',
    broadcast: 'broadcast',
    unspecified: 'unspecified',
  };
  return names[range] ?? `reserved (${range})`;
}

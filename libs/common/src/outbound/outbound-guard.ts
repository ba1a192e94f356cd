import { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AddressPolicy } from './address-policy';

/** How host names are resolved: all addresses of a name. Tests inject their own. */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Why a URL may not be requested: not an http(s) URL at all, or a host the service may not reach. */
export interface UrlRefusal {
  reason: 'bad_url' | 'blocked_address';
  message: string;
}

/** Raised by the guarded DNS lookup, inside the connection error of the request that used it. */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_BLOCKED_ADDRESS';

  constructor(
    readonly hostname: string,
    readonly why: string,
  ) {
    super(`${hostname}: ${why}`);
    this.name = 'BlockedAddressError';
  }
}

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The service's guard on every connection it opens on a URL someone else chose: pages the
 * research reads and the callback URLs of webhooks. Only http(s) URLs without credentials, and
 * only public unicast addresses unless listed (`AddressPolicy`). The guard is the socket's DNS
 * lookup (`lookup`), so a name cannot resolve to one address for the check and another for the
 * connection; address literals, which are never looked up, are judged by `check`.
 */
export class OutboundGuard {
  readonly policy: AddressPolicy;

  /** `allowed`: host names, IP addresses and CIDR networks let through although private. */
  constructor(
    allowed: readonly string[] = [],
    private readonly resolve: Resolve = systemResolve,
  ) {
    this.policy = new AddressPolicy(allowed);
  }

  /** The URL, or why it may not be requested, judged without DNS. */
  check(candidate: string): URL | UrlRefusal {
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      return { reason: 'bad_url', message: `"${candidate}" is not a URL` };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return { reason: 'bad_url', message: `${url.protocol.slice(0, -1)} URLs are not allowed, only http and https` };
    }
    if (url.username || url.password) return { reason: 'bad_url', message: 'URLs with credentials are not allowed' };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !this.policy.allowsHost(host)) {
      // The refusal names the address already.
      const why = this.policy.refusal(host);
      if (why) return { reason: 'blocked_address', message: why };
    }
    return url;
  }

  /**
   * As `check`, and a host name's addresses are judged now too: for a URL accepted now and
   * requested later (a callback URL), so that a name of a private host is refused at once. The
   * connection is still guarded when it is made, as the name may resolve elsewhere by then.
   */
  async checkResolved(candidate: string): Promise<URL | UrlRefusal> {
    const url = this.check(candidate);
    if (!(url instanceof URL)) return url;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) || this.policy.allowsHost(host)) return url;
    let addresses: LookupAddress[];
    try {
      addresses = await this.resolve(host);
    } catch {
      return { reason: 'bad_url', message: `${host} does not resolve` };
    }
    if (addresses.length === 0) return { reason: 'bad_url', message: `${host} does not resolve` };
    const why = this.refusalOf(addresses);
    return why ? { reason: 'blocked_address', message: `${host}: ${why}` } : url;
  }

  /** The DNS lookup for every connection on a guarded URL: only allowed addresses come out of it. */
  readonly lookup = (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    this.resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
          return;
        }
        const why = this.policy.allowsHost(hostname) ? null : this.refusalOf(addresses);
        if (why) {
          callback(new BlockedAddressError(hostname, why), []);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: Error) => callback(error, []),
    );
  };

  /**
   * Every address is judged, not just the first: a name that also resolves to a private address
   * is refused, whichever one the connection would have picked.
   */
  private refusalOf(addresses: readonly LookupAddress[]): string | null {
    for (const { address } of addresses) {
      const why = this.policy.refusal(address);
      if (why) return why;
    }
    return null;
  }
}

/** Why a URL was not fetched. Each reason is a value of the `outcome` label of the fetch metrics. */
export type FetchRefusalReason =
  /** Not http or https, or not a URL at all. */
  | 'bad_url'
  /** The host resolves to an address the service may not reach (private, loopback, metadata...). */
  | 'blocked_address'
  /** The site's robots.txt disallows the path for this service. */
  | 'robots'
  | 'too_many_redirects'
  /** The body, or what it decompresses to, is over its limit. */
  | 'too_large'
  | 'unsupported_content_type'
  /** The server answered with a status that is not a success. */
  | 'http_status'
  | 'timeout'
  /** DNS, connection or TLS failure, or a body that does not decode. */
  | 'network';

export class FetchError extends Error {
  constructor(
    readonly reason: FetchRefusalReason,
    message: string,
    readonly url: string,
    /** The HTTP status, for `http_status`. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'FetchError';
  }
}

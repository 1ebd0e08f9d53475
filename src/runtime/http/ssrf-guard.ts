// SSRF guard: decides on the resolved IP address (never on the host name), so that
// DNS names pointing at internal addresses and literal IPs are both caught.
import { isIPv4, isIPv6 } from 'node:net';
import type { LookupFunction } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';

export const SSRF_BLOCKED_CODE = 'PLEXUS_SSRF_BLOCKED';

export interface SsrfPolicy {
  /** Allow private/loopback/link-local targets (self-hosted setups, tests). Metadata addresses stay blocked. */
  allowPrivateNetwork?: boolean;
  /** Replaces the whole decision when given (tests, custom policies). */
  isBlocked?: (ip: string) => boolean;
}

/** Resolves a host name to all its addresses (injectable for tests and custom DNS). */
export type Resolver = (hostname: string, family?: number) => Promise<LookupAddress[]>;

export class SsrfBlockedError extends Error {
  readonly code = SSRF_BLOCKED_CODE;
  constructor(readonly host: string, readonly address: string) {
    super(host === address ? `blocked private address ${address}` : `blocked ${host}: resolves to private address ${address}`);
    this.name = 'SsrfBlockedError';
  }
}

// IPv4 ranges that are not public internet destinations (IANA special-purpose registry).
const V4_RANGES: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT (also Alibaba metadata 100.100.100.200)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments (Oracle metadata 192.0.0.192)
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes broadcast 255.255.255.255
];

const V6_RANGES: Array<[string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 32], // Teredo (embedded address is obfuscated, so block it all)
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (includes fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
];

// IPv6 forms that carry an IPv4 address in the low 32 bits: judged by that IPv4 address.
const V6_EMBEDDING_V4: Array<[string, number]> = [
  ['::ffff:0:0', 96], // IPv4-mapped
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b::', 96], // NAT64
];

const METADATA = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', '192.0.0.192', 'fd00:ec2::254']);

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function v4InRange(ip: number, base: string, bits: number): boolean {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((ip & mask) >>> 0) === ((v4ToInt(base) & mask) >>> 0);
}

/** Parses a valid IPv6 string (optionally bracketed, with zone id) into a 128-bit integer. */
function v6ToBigInt(ip: string): bigint {
  let s = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase();
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = v4ToInt(tail);
    s = `${s.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest ? rest.split(':') : [];
  const zeros = rest === undefined ? [] : new Array<string>(8 - headGroups.length - restGroups.length).fill('0');
  return [...headGroups, ...zeros, ...restGroups].reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function v6InRange(ip: bigint, base: string, bits: number): boolean {
  const shift = BigInt(128 - bits);
  return ip >> shift === v6ToBigInt(base) >> shift;
}

function bigIntToV4(n: bigint): string {
  const v = Number(n & 0xffffffffn);
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

function stripBrackets(ip: string): string {
  return ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
}

/** The IPv4 address carried by an IPv4-mapped/compatible/NAT64/6to4 IPv6 address, if any. */
function embeddedV4(n: bigint): string | undefined {
  if (V6_RANGES.slice(0, 2).some(([b, bits]) => v6InRange(n, b, bits))) return undefined; // :: and ::1 are not IPv4
  if (V6_EMBEDDING_V4.some(([b, bits]) => v6InRange(n, b, bits))) return bigIntToV4(n);
  if (v6InRange(n, '2002::', 16)) return bigIntToV4(n >> 80n); // 6to4
  return undefined;
}

/**
 * True for any address that is not a public internet destination. Anything that is not a
 * valid IP address also counts as private: the guard fails closed.
 */
export function isPrivateAddress(ip: string): boolean {
  const bare = stripBrackets(ip);
  if (isIPv4(bare)) {
    const n = v4ToInt(bare);
    return V4_RANGES.some(([base, bits]) => v4InRange(n, base, bits));
  }
  if (!isIPv6(bare)) return true;
  const n = v6ToBigInt(bare);
  if (V6_RANGES.some(([base, bits]) => v6InRange(n, base, bits))) return true;
  const v4 = embeddedV4(n);
  return v4 !== undefined && isPrivateAddress(v4);
}

/** Cloud instance-metadata endpoints: blocked even when private networks are allowed. */
export function isMetadataAddress(ip: string): boolean {
  const bare = stripBrackets(ip);
  if (isIPv4(bare)) return METADATA.has(bare);
  if (!isIPv6(bare)) return false;
  const n = v6ToBigInt(bare);
  const v4 = embeddedV4(n);
  if (v4 !== undefined) return METADATA.has(v4);
  return [...METADATA].some((m) => isIPv6(m) && v6ToBigInt(m) === n);
}

export function isAddressBlocked(ip: string, policy: SsrfPolicy): boolean {
  if (policy.isBlocked) return policy.isBlocked(stripBrackets(ip));
  if (isMetadataAddress(ip)) return true;
  return !policy.allowPrivateNetwork && isPrivateAddress(ip);
}

/**
 * Checks a URL before it is sent: http(s) only, and a literal IP host is checked here because
 * the socket layer skips DNS lookup (and so our guarded lookup) for literal IPs.
 */
export function assertUrlAllowed(url: URL, policy: SsrfPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw Object.assign(new Error(`protocol ${url.protocol} is not allowed`), { code: SSRF_BLOCKED_CODE });
  }
  const host = stripBrackets(url.hostname);
  if ((isIPv4(host) || isIPv6(host)) && isAddressBlocked(host, policy)) throw new SsrfBlockedError(host, host);
}

const defaultResolver: Resolver = (hostname, family) =>
  dnsLookup(hostname, { all: true, family: family ?? 0, verbatim: true });

/**
 * A `lookup` for net/tls connect (undici `connect: { lookup }`). Every resolved address must
 * pass; the socket then connects to exactly the addresses checked, so DNS rebinding between
 * check and connect is not possible.
 */
export function createGuardedLookup(policy: SsrfPolicy, resolve: Resolver = defaultResolver): LookupFunction {
  return (hostname, options, callback) => {
    const family = typeof options.family === 'number' ? options.family : undefined;
    resolve(hostname, family).then(
      (addresses) => {
        if (addresses.length === 0) {
          return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
        }
        const bad = addresses.find((a) => isAddressBlocked(a.address, policy));
        if (bad) return callback(new SsrfBlockedError(hostname, bad.address), []);
        if (options.all) return callback(null, addresses);
        const first = addresses[0]!;
        callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}

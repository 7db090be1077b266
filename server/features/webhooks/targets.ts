import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/**
 * Where a webhook may go (decision 0018). A URL is checked when an endpoint is made or changed (scheme,
 * credentials, literal addresses), and its host is resolved and checked again on every attempt: the
 * attempt then connects to the very address that was checked, so a name that later resolves elsewhere
 * (DNS rebinding) cannot slip through.
 */
export interface TargetPolicy {
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: loopback and private addresses allowed (development, tests). */
  allowPrivate: boolean;
  /** WEBHOOK_ALLOW_HTTP: plain http:// allowed besides https://. */
  allowHttp: boolean;
}

/** A target refused before any byte was sent, and why. */
export class TargetRefused extends Error {
  constructor(
    readonly errorClass: 'blocked-address' | 'dns',
    message: string,
  ) {
    super(message);
    this.name = 'TargetRefused';
  }
}

const rangeNames: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local (cloud metadata)',
  loopback: 'loopback',
  private: 'private',
  uniqueLocal: 'private (unique local)',
  carrierGradeNat: 'shared (carrier-grade NAT)',
  reserved: 'reserved',
};

/** The URL's host without IPv6 brackets. */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Why this address may not be a target, or null. Only ordinary public unicast passes: IPv4-mapped IPv6
 * is judged as the IPv4 it carries, and every special range (6to4, Teredo, NAT64 and the like, which can
 * carry a private IPv4 inside) is refused.
 */
export function addressProblem(address: string, policy: TargetPolicy): string | null {
  if (policy.allowPrivate) return null;
  if (!ipaddr.isValid(address)) return `"${address}" is not an IP address`;
  const range = ipaddr.process(address).range();
  if (range === 'unicast') return null;
  return `${address} is a ${rangeNames[range] ?? `special-purpose (${range})`} address`;
}

/** Why `raw` cannot be an endpoint URL, or null. */
export function endpointUrlProblem(raw: string, policy: TargetPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'Must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    return policy.allowHttp ? 'Must start with https:// or http://' : 'Must start with https://';
  }
  if (url.username || url.password) return 'Must not carry a user name or password';
  if (url.hash) return 'Must not have a #fragment (it is never sent)';
  const host = hostOf(url);
  // The URL parser has already turned decimal, hex and short IPv4 forms (http://2130706433/) into
  // dotted quads, so a literal address is always seen as one here.
  if (ipaddr.isValid(host)) return addressProblem(host, policy);
  if (policy.allowPrivate) return null;
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is this machine`;
  if (!host.includes('.')) return 'Must name a fully qualified host (a single-label name resolves locally)';
  return null;
}

/**
 * Resolves the URL's host and checks every address it has (one bad address refuses them all: a resolver
 * answering a public and a private one could otherwise be steered). Answers the address to connect to.
 */
export async function resolveTarget(url: URL, policy: TargetPolicy): Promise<string> {
  const host = hostOf(url);
  let addresses: string[];
  if (ipaddr.isValid(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'lookup failed';
      throw new TargetRefused('dns', `${host} did not resolve (${code})`);
    }
  }
  if (addresses.length === 0) throw new TargetRefused('dns', `${host} has no address`);
  for (const address of addresses) {
    const problem = addressProblem(address, policy);
    if (problem) throw new TargetRefused('blocked-address', `${host} resolves to ${problem}`);
  }
  return addresses[0] as string;
}

import { BlockList, isIP } from 'node:net';

/**
 * The optional source-address allowlist (`ALLOWED_SOURCE_IPS`): a second layer behind Terra's
 * signature, never instead of it, since Terra says its addresses may change
 * (docs/terra.md §1; `terraSourceIps` in definitions.ts lists them). Matching is Node's
 * BlockList, which also matches an IPv4 address written as IPv4-mapped IPv6 (`::ffff:a.b.c.d`).
 */

export interface SourceIpAllowlist {
  allows(sourceIp: string | undefined): boolean;
  /** The entries as configured, for the cold-start log line. */
  entries: readonly string[];
}

const familyOf = (address: string): 'ipv4' | 'ipv6' | undefined => {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : undefined;
};

/**
 * Comma-separated addresses and CIDR blocks, IPv4 or IPv6; undefined (allow every address) when
 * unset or blank. A malformed entry throws, naming it: read at cold start, a typo fails the
 * deployment loudly instead of refusing, or admitting, traffic it was not meant to.
 */
export function parseSourceIpAllowlist(value: string | undefined, name = 'ALLOWED_SOURCE_IPS'): SourceIpAllowlist | undefined {
  const entries = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix, ...rest] = entry.split('/');
    const family = familyOf(address);
    if (!family || rest.length > 0) throw new Error(`${name}: "${entry}" is not an IPv4 or IPv6 address or CIDR block`);
    if (prefix === undefined) {
      list.addAddress(address, family);
      continue;
    }
    const bits = family === 'ipv4' ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) {
      throw new Error(`${name}: "${entry}" has a prefix length outside 0-${bits}`);
    }
    list.addSubnet(address, Number(prefix), family);
  }
  return {
    entries,
    allows(sourceIp) {
      const family = sourceIp === undefined ? undefined : familyOf(sourceIp);
      return family !== undefined && list.check(sourceIp!, family);
    },
  };
}

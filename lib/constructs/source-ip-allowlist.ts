import { isIP } from 'node:net';
import { terraSourceIps } from '../../lambdas/shared/definitions';

/**
 * Stack prop `sourceIpAllowlist`: `true` admits Terra's published addresses (docs/terra.md §1),
 * a list admits the operator's own addresses or CIDR blocks, `false` admits any source.
 */
export type SourceIpAllowlistOption = boolean | readonly string[];

/** True when `entry` is an IPv4 or IPv6 address, or one followed by a prefix length that fits it. */
export function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/**
 * The addresses the ingest function admits (its `ALLOWED_SOURCE_IPS`), or undefined for no
 * allowlist. A list is checked here, at synth, so a typo fails the deploy instead of refusing Terra.
 */
export function allowedSourceIps(option: SourceIpAllowlistOption | undefined): string[] | undefined {
  if (!option) return undefined;
  if (option === true) return [...terraSourceIps];
  const entries = option.map((entry) => entry.trim());
  // The function reads an empty list as "no allowlist": an empty prop must not turn it off unnoticed.
  if (entries.length === 0) throw new Error('sourceIpAllowlist lists no address; use false to turn the allowlist off');
  const invalid = entries.filter((entry) => !isAddressOrCidr(entry));
  if (invalid.length > 0) {
    throw new Error(
      `sourceIpAllowlist entries must be IPv4 or IPv6 addresses or CIDR blocks; got ${invalid.map((entry) => JSON.stringify(entry)).join(', ')}`,
    );
  }
  return entries;
}

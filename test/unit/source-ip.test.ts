import { terraSourceIps } from '../../lambdas/shared/definitions';
import { parseSourceIpAllowlist } from '../../lambdas/shared/source-ips';

describe('ALLOWED_SOURCE_IPS', () => {
  it.each([undefined, '', '  ', ' , ,'])('is off when unset or blank (%p)', (value) => {
    expect(parseSourceIpAllowlist(value)).toBeUndefined();
  });

  it("allows Terra's published addresses and nothing else when set to them", () => {
    const list = parseSourceIpAllowlist(terraSourceIps.join(','))!;
    for (const address of terraSourceIps) expect(list.allows(address)).toBe(true);
    expect(list.allows('18.133.218.211')).toBe(false);
    expect(list.allows('203.0.113.9')).toBe(false);
  });

  it('matches IPv4 and IPv6 CIDR blocks at their edges', () => {
    const list = parseSourceIpAllowlist('10.1.0.0/16, 2001:db8:abcd::/48')!;
    expect(list.allows('10.1.0.0')).toBe(true);
    expect(list.allows('10.1.255.255')).toBe(true);
    expect(list.allows('10.2.0.0')).toBe(false);
    expect(list.allows('2001:db8:abcd:ffff::1')).toBe(true);
    expect(list.allows('2001:db8:abce::1')).toBe(false);
  });

  it('matches an IPv4 address written as IPv4-mapped IPv6', () => {
    expect(parseSourceIpAllowlist('18.133.218.210')!.allows('::ffff:18.133.218.210')).toBe(true);
  });

  it('allows nothing that is not an address', () => {
    const list = parseSourceIpAllowlist('0.0.0.0/0')!;
    expect(list.allows('1.2.3.4')).toBe(true);
    expect(list.allows(undefined)).toBe(false);
    expect(list.allows('')).toBe(false);
    expect(list.allows('not-an-ip')).toBe(false);
  });

  it('keeps the entries as configured, blanks and spaces left out', () => {
    expect(parseSourceIpAllowlist(' 1.2.3.4 ,, 10.0.0.0/8 ')!.entries).toEqual(['1.2.3.4', '10.0.0.0/8']);
  });

  it.each([
    ['1.2.3.999', /1\.2\.3\.999/],
    ['terra.co', /terra\.co/],
    ['10.0.0.0/33', /prefix length outside 0-32/],
    ['2001:db8::/129', /prefix length outside 0-128/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/8/8', /10\.0\.0\.0\/8\/8/],
    ['10.0.0.0/-1', /prefix length/],
  ])('refuses the malformed entry %s, naming it', (entry, message) => {
    expect(() => parseSourceIpAllowlist(`1.2.3.4,${entry}`)).toThrow(message);
    expect(() => parseSourceIpAllowlist(entry)).toThrow(/ALLOWED_SOURCE_IPS/);
  });
});

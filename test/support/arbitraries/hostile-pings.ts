import fc from 'fast-check';
import { type HostileBody, hostileBodyArbitrary, type Json, renderBody, serialize, wrongValue } from './hostile-bodies';

/** Ping mode (`s3_payload`): a hostile wrapper, and a hostile body behind its URL. */
export interface HostilePing {
  served: HostileBody;
  url: 'served' | 'not_found' | 'not_a_url' | 'other_scheme' | 'elsewhere' | 'not_a_string';
  expiresIn: Json;
}

export const hostilePingArbitrary: fc.Arbitrary<HostilePing> = fc.record({
  served: hostileBodyArbitrary,
  url: fc.oneof(
    { weight: 6, arbitrary: fc.constant('served' as const) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'not_found' as const,
        'not_a_url' as const,
        'other_scheme' as const,
        'elsewhere' as const,
        'not_a_string' as const,
      ),
    },
  ),
  expiresIn: fc.oneof({ weight: 4, arbitrary: fc.constant(600) }, { weight: 1, arbitrary: wrongValue }),
});

/**
 * The Ping wrapper's bytes; `serve` puts a body behind a URL of the test's payload server, and
 * `missing` is a URL of it that answers 404. `elsewhere` is any other host (the test's fetch
 * must answer for it without the network).
 */
export function renderPing(
  ping: HostilePing,
  ns: string,
  serve: (body: Buffer) => string,
  missing: string,
): { wrapper: Buffer; served?: Buffer } {
  const served = renderBody(ping.served, ns);
  const url: Json = {
    served: () => serve(served),
    not_found: () => missing,
    not_a_url: () => `not a url ${ns}`,
    other_scheme: () => `file:///tmp/${ns}.json`,
    elsewhere: () => `https://terra-payloads.invalid/${ns}.json`,
    not_a_string: () => ({ href: serve(served) }),
  }[ping.url]();
  const wrapper = { type: 's3_payload', status: 'success', url, expires_in: ping.expiresIn, version: '2022-03-16' };
  return { wrapper: Buffer.from(serialize(wrapper)), ...(ping.url === 'served' && { served }) };
}

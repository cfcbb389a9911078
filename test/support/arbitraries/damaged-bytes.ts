import fc from 'fast-check';

/**
 * Damage to a body's bytes, after it is written: invalid UTF-8, truncation, a byte-order mark,
 * raw control characters, trailing garbage, or something else altogether (random bytes, JSON
 * that is not an event, text that is not JSON). Positions are millionths of the length.
 */

export type ByteMutation =
  | { kind: 'invalid_utf8'; at: number; bytes: number[] }
  | { kind: 'truncated'; at: number }
  | { kind: 'bom' }
  | { kind: 'raw_control'; at: number; code: number }
  | { kind: 'trailing'; text: string }
  | { kind: 'replaced'; bytes: number[] }
  | { kind: 'replaced_text'; text: string };

const fraction = fc.nat(1_000_000);
export const byteMutationArbitrary: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('invalid_utf8' as const),
    at: fraction,
    bytes: fc.constantFrom<number[]>([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80]),
  }),
  fc.record({ kind: fc.constant('truncated' as const), at: fraction }),
  fc.constant({ kind: 'bom' as const }),
  fc.record({ kind: fc.constant('raw_control' as const), at: fraction, code: fc.integer({ min: 0, max: 0x1f }) }),
  fc.record({ kind: fc.constant('trailing' as const), text: fc.constantFrom('}', ']', 'x', ',', '{}', '\u0000') }),
  fc.record({ kind: fc.constant('replaced' as const), bytes: fc.array(fc.nat(255), { maxLength: 64 }) }),
  fc.record({
    kind: fc.constant('replaced_text' as const),
    text: fc.oneof(
      fc.constantFrom('', 'null', '123', '"activity"', '[]', '[{"type":"activity"}]', '{}', '{"type":""}', '{"type":null}'),
      fc.string({ unit: 'binary', maxLength: 40 }),
    ),
  }),
);

export function damage(text: string, mutation: ByteMutation): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const cut = (fraction: number) => Math.floor((fraction / 1_000_000) * bytes.length);
  switch (mutation.kind) {
    case 'invalid_utf8':
      return Buffer.concat([bytes.subarray(0, cut(mutation.at)), Buffer.from(mutation.bytes), bytes.subarray(cut(mutation.at))]);
    case 'truncated':
      return bytes.subarray(0, cut(mutation.at));
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    case 'raw_control':
      return Buffer.concat([bytes.subarray(0, cut(mutation.at)), Buffer.from([mutation.code]), bytes.subarray(cut(mutation.at))]);
    case 'trailing':
      return Buffer.concat([bytes, Buffer.from(mutation.text)]);
    case 'replaced':
      return Buffer.from(mutation.bytes);
    case 'replaced_text':
      return Buffer.from(mutation.text, 'utf8');
  }
}

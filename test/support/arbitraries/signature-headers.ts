import fc from 'fast-check';
import { computeSignature } from '../../../lambdas/shared/signature';

/**
 * Terra's signature header (`t=<unix s>,v1=<hex>`, docs/terra.md §1) and what can be done to
 * it. A *forgery* leaves no `v1` in the header that matches the body at the header's timestamp
 * with a configured secret; a *neutral* change (reordering, whitespace, unknown schemes, padding)
 * neither adds nor removes one. So a header built from at least one forgery and any number of
 * neutral changes is never authentic, and a valid header with only neutral changes always is.
 */

export interface SigningInput {
  /** The secrets the receiver accepts; the first one signs. */
  secrets: readonly string[];
  body: Buffer;
  /** The `t` the valid header carries: within the tolerance of `nowSeconds`. */
  timestamp: number;
  nowSeconds: number;
  toleranceSeconds: number;
}

export type Forgery =
  | { kind: 'forged_hex'; hex: string }
  | { kind: 'flipped_nibble'; index: number }
  | { kind: 'truncated'; keep: number }
  | { kind: 'shifted_timestamp'; by: number }
  | { kind: 'other_body'; suffix: string }
  | { kind: 'other_secret'; secret: string }
  | { kind: 'expired'; by: number }
  | { kind: 'scheme_renamed'; which: 't' | 'v1'; name: string }
  | { kind: 'garbled_hex'; index: number; insert: string }
  | { kind: 'garbled_timestamp'; value: string }
  | { kind: 'hex_length'; change: 'shorter' | 'longer' | 'doubled' }
  | { kind: 'dropped'; which: 't' | 'v1' }
  | { kind: 'v1_as_v0' }
  | { kind: 'missing' }
  | { kind: 'blank'; value: string }
  | { kind: 'wrong_header_name'; name: string };

export type NeutralChange =
  | { kind: 'reversed' }
  | { kind: 'rotated'; by: number }
  | { kind: 'whitespace'; index: number; before: string; after: string }
  | { kind: 'unknown_element'; text: string }
  | { kind: 'duplicated_element'; index: number }
  | { kind: 'padded'; bytes: number }
  | { kind: 'upper_case_hex' }
  | { kind: 'extra_forged_v1'; hex: string };

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const notHex = fc.constantFrom('g', 'z', ' ', '\t', '\u00e9', '\u{1F600}', '\u0000', '=', '-', '\ufffd', '\ud800');
const anyText = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
const whitespace = fc.constantFrom('', ' ', '  ', '\t', ' \t ');

/** Not `\d{1,12}` once trimmed, as Terra's `t` must be. */
const badTimestamp = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '-1',
    '+1700000000',
    '1.7e9',
    '1700000000.0',
    '0x6553f100',
    '1e3',
    'NaN',
    'Infinity',
    '\u0661\u0667',
    '1 7',
    '1_700_000_000',
  ),
  fc.stringMatching(/^\d{13,20}$/),
  anyText(20).filter((value) => !/^\d{1,12}$/.test(value.trim())),
);

export const forgeryArbitrary: fc.Arbitrary<Forgery> = fc.oneof(
  hex64.map((hex) => ({ kind: 'forged_hex' as const, hex })),
  fc.nat(63).map((index) => ({ kind: 'flipped_nibble' as const, index })),
  fc.nat().map((keep) => ({ kind: 'truncated' as const, keep })),
  fc
    .integer({ min: -300, max: 300 })
    .filter((by) => by !== 0)
    .map((by) => ({ kind: 'shifted_timestamp' as const, by })),
  anyText(40)
    .filter((suffix) => suffix.length > 0)
    .map((suffix) => ({ kind: 'other_body' as const, suffix })),
  anyText(40).map((secret) => ({ kind: 'other_secret' as const, secret })),
  // Beyond the tolerance, either way, of the receiver's clock.
  fc
    .oneof(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: -10_000_000, max: -1 }))
    .map((by) => ({ kind: 'expired' as const, by })),
  fc
    .oneof(
      fc.record({ which: fc.constant('t' as const), name: fc.constantFrom('T', 'ts', 't1', 'time', 't\u0000', 'timestamp') }),
      fc.record({
        which: fc.constant('v1' as const),
        name: fc.constantFrom('V1', 'v2', 'v0', 'v 1', 'v1\u200b', 'signature', 'sha256', 'v11'),
      }),
    )
    .map((renamed) => ({ kind: 'scheme_renamed' as const, ...renamed })),
  // Strictly inside the hex: whitespace at its ends would be trimmed away.
  fc.record({ index: fc.integer({ min: 1, max: 63 }), insert: notHex }).map((garbled) => ({ kind: 'garbled_hex' as const, ...garbled })),
  badTimestamp.map((value) => ({ kind: 'garbled_timestamp' as const, value })),
  fc.constantFrom('shorter' as const, 'longer' as const, 'doubled' as const).map((change) => ({ kind: 'hex_length' as const, change })),
  fc.constantFrom('t' as const, 'v1' as const).map((which) => ({ kind: 'dropped' as const, which })),
  fc.constant({ kind: 'v1_as_v0' as const }),
  fc.constant({ kind: 'missing' as const }),
  fc.constantFrom('', ' ', '\t', '   ').map((value) => ({ kind: 'blank' as const, value })),
  fc
    .constantFrom('terra_signature', 'terra-signatures', 'x-signature', 'signature', 'terra-signature-v1', 'x-terra-sig', 'authorization')
    .map((name) => ({ kind: 'wrong_header_name' as const, name })),
);

/** An element no parser reads as `t` or `v1`: no `=`, or another scheme. */
const unknownElement = fc
  .oneof(fc.constantFrom('v0=abc', `v0=${'0'.repeat(64)}`, 'foo=bar', 'x', '', '==', 'scheme=', `v2=${'a'.repeat(64)}`), anyText(30))
  .filter((text) => {
    if (text.includes(',')) return false;
    const separator = text.indexOf('=');
    return separator < 0 || !['t', 'v1'].includes(text.slice(0, separator).trim());
  });

export const neutralChangeArbitrary: fc.Arbitrary<NeutralChange> = fc.oneof(
  fc.constant({ kind: 'reversed' as const }),
  fc.nat(8).map((by) => ({ kind: 'rotated' as const, by })),
  fc.record({ index: fc.nat(8), before: whitespace, after: whitespace }).map((change) => ({ kind: 'whitespace' as const, ...change })),
  unknownElement.map((text) => ({ kind: 'unknown_element' as const, text })),
  fc.nat(8).map((index) => ({ kind: 'duplicated_element' as const, index })),
  // Up to 64 KB: a huge header must cost no more than a refusal.
  fc
    .oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 2_000, max: 64 * 1024 }))
    .map((bytes) => ({ kind: 'padded' as const, bytes })),
  fc.constant({ kind: 'upper_case_hex' as const }),
  hex64.map((hex) => ({ kind: 'extra_forged_v1' as const, hex })),
);

/** `terra-signature` or `x-terra-signature`, in any case: header names are case-insensitive. */
export const signatureHeaderName = fc
  .tuple(fc.constantFrom('terra-signature', 'x-terra-signature'), fc.array(fc.boolean(), { minLength: 17, maxLength: 17 }))
  .map(([name, upper]) => [...name].map((char, index) => (upper[index] ? char.toUpperCase() : char)).join(''));

export interface BuiltHeader {
  /** Header name to send it under, or undefined to send none. */
  name?: string;
  value?: string;
}

const sign = (secret: string, timestamp: number, body: Buffer | string) => computeSignature(secret, timestamp, body).toString('hex');

function flipNibble(hex: string, index: number): string {
  const nibble = parseInt(hex[index], 16);
  return hex.slice(0, index) + ((nibble + 1 + (index % 15)) % 16).toString(16) + hex.slice(index + 1);
}

/** Applies one forgery to the valid header's elements (or replaces the header outright). */
function forge(elements: string[], forgery: Forgery, input: SigningInput, name: string): BuiltHeader & { elements?: string[] } {
  const [t, v1] = [elements[0].slice(2), elements[1].slice(3)];
  switch (forgery.kind) {
    case 'forged_hex':
      return { name, elements: [`t=${t}`, `v1=${forgery.hex === v1 ? flipNibble(forgery.hex, 0) : forgery.hex}`] };
    case 'flipped_nibble':
      return { name, elements: [`t=${t}`, `v1=${flipNibble(v1, forgery.index)}`] };
    case 'truncated': {
      const whole = elements.join(',');
      return { name, value: whole.slice(0, forgery.keep % whole.length) };
    }
    case 'shifted_timestamp':
      return { name, elements: [`t=${input.timestamp + forgery.by}`, `v1=${v1}`] };
    case 'other_body':
      return {
        name,
        elements: [`t=${t}`, `v1=${sign(input.secrets[0], input.timestamp, Buffer.concat([input.body, Buffer.from(forgery.suffix)]))}`],
      };
    case 'other_secret': {
      let secret = forgery.secret;
      while (input.secrets.includes(secret)) secret += '!';
      return { name, elements: [`t=${t}`, `v1=${sign(secret, input.timestamp, input.body)}`] };
    }
    case 'expired': {
      const beyond = input.toleranceSeconds + Math.abs(forgery.by);
      const timestamp = Math.max(0, input.nowSeconds + Math.sign(forgery.by) * beyond);
      return { name, elements: [`t=${timestamp}`, `v1=${sign(input.secrets[0], timestamp, input.body)}`] };
    }
    case 'scheme_renamed':
      return { name, elements: forgery.which === 't' ? [`${forgery.name}=${t}`, `v1=${v1}`] : [`t=${t}`, `${forgery.name}=${v1}`] };
    case 'garbled_hex': {
      const { index } = forgery;
      return { name, elements: [`t=${t}`, `v1=${v1.slice(0, index)}${forgery.insert}${v1.slice(index)}`] };
    }
    case 'garbled_timestamp':
      return { name, elements: [`t=${forgery.value}`, `v1=${v1}`] };
    case 'hex_length': {
      const hex = forgery.change === 'shorter' ? v1.slice(1) : forgery.change === 'longer' ? `${v1}0` : `${v1}${v1}`;
      return { name, elements: [`t=${t}`, `v1=${hex}`] };
    }
    case 'dropped':
      return { name, elements: forgery.which === 't' ? [`v1=${v1}`] : [`t=${t}`] };
    case 'v1_as_v0':
      return { name, elements: [`t=${t}`, `v0=${v1}`] };
    case 'missing':
      return {};
    case 'blank':
      return { name, value: forgery.value };
    case 'wrong_header_name':
      return { name: forgery.name, elements };
  }
}

function applyNeutral(elements: string[], change: NeutralChange): string[] {
  const at = (index: number) => index % Math.max(1, elements.length);
  switch (change.kind) {
    case 'reversed':
      return [...elements].reverse();
    case 'rotated':
      return elements.map((_, index) => elements[(index + change.by) % elements.length]);
    case 'whitespace':
      return elements.map((element, index) => (index === at(change.index) ? `${change.before}${element}${change.after}` : element));
    case 'unknown_element':
      return [...elements, change.text];
    case 'duplicated_element':
      return elements.length === 0 ? elements : [...elements, elements[at(change.index)]];
    case 'padded':
      return [...elements, ...Array.from({ length: Math.ceil(change.bytes / 64) }, (_, index) => `x${index}=${'p'.repeat(60)}`)];
    case 'upper_case_hex':
      return elements.map((element) => (element.startsWith('v1=') ? `v1=${element.slice(3).toUpperCase()}` : element));
    case 'extra_forged_v1':
      return [...elements, `v1=${change.hex}`];
  }
}

/** The header Terra would send for `input`, as its elements. */
export function validElements(input: SigningInput): string[] {
  return [`t=${input.timestamp}`, `v1=${sign(input.secrets[0], input.timestamp, input.body)}`];
}

/** A valid header after neutral changes only: still authentic. */
export function neutralHeader(input: SigningInput, name: string, changes: readonly NeutralChange[]): BuiltHeader {
  let elements = validElements(input);
  for (const change of changes) elements = applyNeutral(elements, change);
  return { name, value: elements.join(',') };
}

/** A valid header after one forgery and any neutral changes: never authentic. */
export function forgedHeader(input: SigningInput, name: string, forgery: Forgery, changes: readonly NeutralChange[]): BuiltHeader {
  const forged = forge(validElements(input), forgery, input, name);
  if (!forged.elements) return forged;
  let elements = forged.elements;
  for (const change of changes) elements = applyNeutral(elements, change);
  return { name: forged.name, value: elements.join(',') };
}

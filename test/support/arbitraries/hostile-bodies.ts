import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { type ByteMutation, byteMutationArbitrary, damage } from './damaged-bytes';
import { eventTemplates } from './terra-events';

/**
 * Authentic but hostile bodies: a valid Terra event (terra-events.ts) with odd user ids and
 * identifiers, then mutated: prototype keys at any depth (`__proto__` as an own key, as JSON.parse
 * makes it), wrong types at any path, huge strings, deep nesting, duplicate keys, numbers no
 * double holds; and now and then damaged as bytes (damaged-bytes.ts).
 *
 * A case is plain data (what fast-check prints and shrinks); `renderBody(spec, ns)` turns it into
 * bytes, with every user id inside the case's own namespace `ns` where the spec allows one, and a
 * `victim-<ns>` id planted where only a bug would read it (under prototype keys, duplicate keys
 * JSON.parse discards, nested records).
 */

export type Json = null | boolean | number | string | Json[] | JsonObject | Raw;
interface JsonObject {
  [key: string]: Json;
}

/** Text emitted as is: deep nesting, numbers no double holds, objects with a key twice. */
class Raw {
  constructor(readonly text: () => string) {}
}

/** How an id (a user's, a record's identifier) is spelled; `ns` keeps a case's ids its own. */
export type IdSpec =
  | { kind: 'plain' }
  | { kind: 'with_hash'; form: number }
  | { kind: 'with_slash'; form: number }
  | { kind: 'whitespace'; form: number }
  | { kind: 'unicode'; text: string }
  | { kind: 'long'; bytes: number }
  | { kind: 'empty' }
  | { kind: 'not_a_string'; value: Json };

export const hostileKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'] as const;

export type Mutation =
  | { kind: 'hostile_key'; at: number; key: (typeof hostileKeys)[number] }
  | { kind: 'wrong_type'; at: number; value: Json }
  | { kind: 'huge_string'; at: number; length: number; noise: boolean }
  | { kind: 'deep'; at: number; depth: number; shape: 'object' | 'array' }
  | { kind: 'identifier'; record: number; id: IdSpec }
  | { kind: 'duplicate_record'; record: number }
  | { kind: 'duplicate_key'; at: number }
  | { kind: 'removed'; at: number }
  | { kind: 'odd_number'; at: number; text: string }
  | { kind: 'nested_user'; at: number };

export interface HostileBody {
  template: string;
  users: IdSpec[];
  mutations: Mutation[];
  bytes?: ByteMutation;
}

// ---- arbitraries ----

const scalar: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53 + 2, '', ' ', '#', '0', 'null', '[object Object]'),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
export const wrongValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), scalar, { maxKeys: 3 }) },
);

export const idSpecArbitrary: fc.Arbitrary<IdSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'plain' as const }) },
  { weight: 2, arbitrary: fc.nat(3).map((form) => ({ kind: 'with_hash' as const, form })) },
  { weight: 1, arbitrary: fc.nat(2).map((form) => ({ kind: 'with_slash' as const, form })) },
  { weight: 1, arbitrary: fc.nat(3).map((form) => ({ kind: 'whitespace' as const, form })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).map((text) => ({ kind: 'unicode' as const, text })) },
  {
    weight: 2,
    // Around S3's 1,024-byte key limit and DynamoDB's 1,024 (sort) and 2,048 (partition) bytes, and far beyond.
    arbitrary: fc
      .oneof(fc.constantFrom(1_000, 1_025, 2_040, 2_049, 3_000), fc.integer({ min: 1, max: 5_000 }), fc.constant(100_000))
      .map((bytes) => ({ kind: 'long' as const, bytes })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  {
    weight: 1,
    arbitrary: wrongValue.filter((value) => typeof value !== 'string').map((value) => ({ kind: 'not_a_string' as const, value })),
  },
);

const at = fc.nat(10_000);
export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('hostile_key' as const), at, key: fc.constantFrom(...hostileKeys) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wrong_type' as const), at, value: wrongValue }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('huge_string' as const),
      at,
      // Mostly a few KB; now and then hundreds (as noise, past 470 KB: too large for an item even gzipped).
      length: fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 1, max: 5_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 300_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 480_000, max: 700_000 }) },
      ),
      noise: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      at,
      // Past DynamoDB's 32 levels, the SDK's marshaller (~3,000) and JSON.stringify (~4,500).
      depth: fc.oneof(fc.integer({ min: 30, max: 40 }), fc.integer({ min: 40, max: 6_000 }), fc.constant(20_000)),
      shape: fc.constantFrom('object' as const, 'array' as const),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('identifier' as const), record: fc.nat(3), id: idSpecArbitrary }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate_record' as const), record: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate_key' as const), at }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removed' as const), at }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('odd_number' as const),
      at,
      text: fc.constantFrom(
        '1e400',
        '-1e400',
        '1e-400',
        '-0',
        '123456789012345678901234567890',
        '1.7976931348623157e308',
        '5e-324',
        '0.1e-999',
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('nested_user' as const), at }) },
);

export const hostileBodyArbitrary: fc.Arbitrary<HostileBody> = fc.record(
  {
    template: fc.constantFrom(...eventTemplates.map((template) => template.name)),
    users: fc.array(idSpecArbitrary, { minLength: 2, maxLength: 2 }),
    mutations: fc.array(mutationArbitrary, { maxLength: 4 }),
    // One body in seven damaged at the byte level; the rest reach the routing rules.
    bytes: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: byteMutationArbitrary }),
  },
  { requiredKeys: ['template', 'users', 'mutations'] },
);

// ---- rendering ----

/** Deterministic filler: `noise` defeats gzip, as a real payload's samples largely do. */
function filler(length: number, noise: boolean, ns: string): string {
  if (!noise) return 'x'.repeat(length);
  const chunks: string[] = [];
  let size = 0;
  for (let block = 0; size < length; block++) {
    const chunk = createHash('sha512').update(`${ns}/${block}`).digest('base64');
    chunks.push(chunk);
    size += chunk.length;
  }
  return chunks.join('').slice(0, length);
}

/** The id `spec` spells within namespace `ns`. */
export function renderId(spec: IdSpec, ns: string): Json {
  switch (spec.kind) {
    case 'plain':
      return ns;
    case 'with_hash':
      return [`${ns}#activity`, `#${ns}`, `${ns}#`, `activity#${ns}#x`][spec.form % 4];
    case 'with_slash':
      return [`${ns}/x`, `../${ns}`, `${ns}/`][spec.form % 3];
    case 'whitespace':
      return [` ${ns} `, `${ns}\n`, '\t', '   '][spec.form % 4];
    case 'unicode':
      return `${ns}${spec.text}`;
    case 'long':
      return `${ns}${'u'.repeat(Math.max(0, spec.bytes - ns.length))}`;
    case 'empty':
      return '';
    case 'not_a_string':
      return spec.value;
  }
}

const victimOf = (ns: string) => `victim-${ns}`;

/** What a bug would read if it followed a prototype key, a discarded duplicate or a nested record. */
function decoy(ns: string): JsonObject {
  const victim = { user_id: victimOf(ns), provider: 'VICTIM' };
  return {
    user_id: victimOf(ns),
    user: victim,
    new_user: victim,
    old_user: victim,
    type: 'deauth',
    polluted: true,
    toString: 'polluted',
    data: [],
  };
}

type Location = { parent: JsonObject | Json[]; key: string | number };

/** Every place a value sits, root excluded; objects, root included. */
function survey(root: JsonObject): { locations: Location[]; objects: JsonObject[] } {
  const locations: Location[] = [];
  const objects: JsonObject[] = [root];
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node === null || typeof node !== 'object' || node instanceof Raw) continue;
    for (const [key, value] of Object.entries(node)) {
      locations.push({ parent: node, key: Array.isArray(node) ? Number(key) : key });
      if (value !== null && typeof value === 'object' && !(value instanceof Raw)) {
        if (!Array.isArray(value)) objects.push(value);
        stack.push(value);
      }
    }
  }
  return { locations, objects };
}

/** Sets an own property, `__proto__` included, as JSON.parse would. */
function define(target: JsonObject | Json[], key: string | number, value: Json) {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function serialize(value: Json): string {
  if (value instanceof Raw) return value.text();
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  return `{${Object.entries(value)
    .map(([key, item]) => `${JSON.stringify(key)}:${serialize(item)}`)
    .join(',')}}`;
}

function setIdentifier(record: Json, path: readonly string[], id: Json) {
  if (record === null || typeof record !== 'object' || Array.isArray(record) || record instanceof Raw) return;
  let target = record as JsonObject;
  for (const part of path.slice(0, -1)) {
    const next = target[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next) || next instanceof Raw) return;
    target = next;
  }
  define(target, path.at(-1)!, id);
}

function mutate(root: JsonObject, mutation: Mutation, ns: string, identifier: readonly string[] | undefined) {
  const { locations, objects } = survey(root);
  const place = 'at' in mutation ? locations[mutation.at % Math.max(1, locations.length)] : undefined;
  const object = 'at' in mutation ? objects[mutation.at % objects.length] : root;
  const records = Array.isArray(root.data) ? root.data : [];
  switch (mutation.kind) {
    case 'hostile_key':
      return define(object, mutation.key, decoy(ns));
    case 'wrong_type':
      return place && define(place.parent, place.key, mutation.value);
    case 'huge_string':
      return place && define(place.parent, place.key, filler(mutation.length, mutation.noise, ns));
    case 'deep': {
      if (!place) return;
      const inner = serialize((place.parent as JsonObject)[place.key as string] ?? null);
      const [open, close] = mutation.shape === 'object' ? ['{"a":', '}'] : ['[', ']'];
      return define(place.parent, place.key, new Raw(() => `${open.repeat(mutation.depth)}${inner}${close.repeat(mutation.depth)}`));
    }
    case 'identifier':
      if (identifier && records.length > 0)
        setIdentifier(records[mutation.record % records.length], identifier, renderId(mutation.id, `${ns}-record`));
      return;
    case 'duplicate_record':
      // The same node twice: a copy would have to parse what may be nested past any stack.
      if (records.length > 0) records.push(records[mutation.record % records.length]);
      return;
    case 'duplicate_key': {
      // The decoy comes first: JSON.parse keeps the last of a key, so only a bug reads the decoy.
      const [key] = Object.keys(object);
      if (key === undefined) return;
      const rest = serialize(object).slice(1);
      const text = `{${JSON.stringify(key)}:${serialize(decoy(ns))},${rest}`;
      if (object === root) {
        for (const name of Object.keys(root)) delete root[name];
        return define(root, '', new Raw(() => text));
      }
      const holder = locations.find((location) => (location.parent as JsonObject)[location.key as string] === object);
      return holder && define(holder.parent, holder.key, new Raw(() => text));
    }
    case 'removed':
      if (!place) return;
      if (Array.isArray(place.parent)) place.parent.splice(place.key as number, 1);
      else delete place.parent[place.key];
      return;
    case 'odd_number':
      return place && define(place.parent, place.key, new Raw(() => mutation.text));
    case 'nested_user': {
      // Anywhere but the root, where `user` is the body's own.
      const inner = objects.length > 1 ? objects[1 + (mutation.at % (objects.length - 1))] : undefined;
      return inner && define(inner, 'user', { user_id: victimOf(ns), provider: 'VICTIM' });
    }
  }
}

/** The body's bytes for namespace `ns` (unique per execution, so no case reads another's items). */
export function renderBody(spec: HostileBody, ns: string): Buffer {
  const template = eventTemplates.find((candidate) => candidate.name === spec.template)!;
  const root = template.build(spec.users.slice(0, template.users).map((user, index) => renderId(user, `${ns}-u${index}`))) as JsonObject;
  for (const mutation of spec.mutations) mutate(root, mutation, ns, template.identifier);
  const keys = Object.keys(root);
  const text = keys.length === 1 && keys[0] === '' ? serialize(root['']) : serialize(root);
  return spec.bytes ? damage(text, spec.bytes) : Buffer.from(text, 'utf8');
}

/** The id a bug would write under: never one of the case's own. */
export const victimId = victimOf;

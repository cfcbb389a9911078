import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Ajv2020 from 'ajv/dist/2020';
import { type GenerateOptions, generateSync, type JsonSchema, type Random } from 'json-schema-faker';
import { parse } from 'yaml';
import type { StoredForm } from '../../lambdas/shared/table-items';

/**
 * Terra's published OpenAPI bundle (vendor/terra-openapi) as a source of test events: its
 * components.schemas are JSON Schema 2020-12, so events are generated from them with
 * json-schema-faker (seeded, reproducible) and each is checked with Ajv before it is used.
 */

/** A JSON Schema, as far as these helpers read one. */
interface Schema {
  $ref?: string;
  type?: string;
  const?: unknown;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  [keyword: string]: unknown;
}

/** An OpenAPI webhook operation, as far as its request body goes. */
interface WebhookOperation {
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

/**
 * A generated event: JSON in the shape of one of Terra's schemas (Ajv checks it against that
 * schema before use), which the tests read field by field as docs/terra.md describes it.
 */
// biome-ignore lint/suspicious/noExplicitAny: json-schema-faker's output follows a schema chosen at run time; the tests read whichever fields the event type has.
export type GeneratedEvent = any;

export interface TerraBundle {
  schemas: Record<string, Schema>;
  webhooks: Record<string, Record<string, WebhookOperation | undefined>>;
}

export function loadTerraBundle(path = new URL('../../vendor/terra-openapi/v2-bundled.yaml', import.meta.url)): TerraBundle {
  const document = parse(readFileSync(path, 'utf8'));
  return { schemas: document.components?.schemas ?? {}, webhooks: document.webhooks ?? {} };
}

const schemaRef = '#/components/schemas/';

function refName(ref: string): string {
  if (!ref.startsWith(schemaRef)) throw new Error(`unexpected $ref ${ref}: only ${schemaRef}… refs are resolved`);
  return ref.slice(schemaRef.length);
}

/** Used only if Terra's bundle ever drops its `WebhookEventType` union. */
const knownEventSchemas = [
  'AuthSuccessEvent',
  'AuthErrorEvent',
  'DeauthEvent',
  'UserReauthEvent',
  'AccessRevokedEvent',
  'ConnectionErrorEvent',
  'PermissionChangeEvent',
  'LargeRequestProcessingEvent',
  'LargeRequestSendingEvent',
  'ActivityEvent',
  'AthleteEvent',
  'BodyEvent',
  'DailyEvent',
  'MenstruationEvent',
  'NutritionEvent',
  'SleepEvent',
  'PlannedWorkoutEvent',
  'HormoneEvent',
  'HealthObservationEvent',
  'LabReportCompletedEvent',
  'LabReportFailedEvent',
  'S3PayloadEvent',
];

/** The schemas of every event Terra can send: the members of its `WebhookEventType` union. */
export function eventSchemaNames(bundle: TerraBundle): string[] {
  const union = bundle.schemas.WebhookEventType;
  if (!union) return knownEventSchemas;
  return [...(union.oneOf ?? []), ...(union.anyOf ?? [])].map((member: Schema) => refName(member.$ref!));
}

/** An event schema fixes the envelope's `type` with a `const`; that value is what Terra sends. */
export function eventTypeOf(bundle: TerraBundle, schemaName: string): string | undefined {
  const type = bundle.schemas[schemaName]?.properties?.type?.const;
  return typeof type === 'string' ? type : undefined;
}

/**
 * What each webhook's request body can be: the event schemas reached from it through `$ref`s and
 * `oneOf`/`anyOf`/`allOf` (an event's own properties are not followed). A body that reaches no
 * named event schema is listed with `schema` undefined, so it cannot pass as covered.
 */
export function webhookBodySchemas(bundle: TerraBundle): { webhook: string; schema?: string }[] {
  const found: { webhook: string; schema?: string }[] = [];
  for (const [webhook, operations] of Object.entries(bundle.webhooks)) {
    const names = new Set<string>();
    const visit = (schema: Schema | undefined, seen: Set<string>) => {
      if (!schema || typeof schema !== 'object') return;
      if (typeof schema.$ref === 'string') {
        const name = refName(schema.$ref);
        const target = bundle.schemas[name];
        if (eventTypeOf(bundle, name) !== undefined || !target) names.add(name);
        else if (!seen.has(name)) visit(target, new Set([...seen, name]));
      }
      for (const member of [...(schema.oneOf ?? []), ...(schema.anyOf ?? []), ...(schema.allOf ?? [])]) visit(member, seen);
    };
    for (const operation of Object.values(operations)) {
      for (const media of Object.values(operation?.requestBody?.content ?? {})) visit(media.schema, new Set());
    }
    if (names.size === 0) found.push({ webhook });
    for (const schema of names) found.push({ webhook, schema });
  }
  return found;
}

/** Every `$ref` reachable from the schemas named, transitively, that names no schema in the bundle. */
export function unresolvedRefs(bundle: TerraBundle, from: string[]): string[] {
  const seen = new Set<string>();
  const missing = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') follow(refName(value));
      else if (key !== 'examples' && key !== 'example' && key !== 'const' && key !== 'enum') walk(value);
    }
  };
  const follow = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    if (!bundle.schemas[name]) missing.add(name);
    else walk(bundle.schemas[name]);
  };
  from.forEach(follow);
  return [...missing];
}

const fullDate = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const dateTime =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** Ajv over the whole bundle, so `#/components/schemas/…` refs resolve as in Terra's document. */
export function createValidator(bundle: TerraBundle): (schemaName: string, value: unknown) => string | undefined {
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictTuples: false, strictRequired: false, allErrors: true });
  ajv.addKeyword('example'); // OpenAPI's annotation, beside JSON Schema's `examples`
  ajv.addKeyword('components'); // the container the bundle's refs point into
  ajv.addFormat('date', fullDate);
  ajv.addFormat('date-time', dateTime);
  const id = 'https://terra.invalid/v2-bundled.yaml';
  ajv.addSchema({ $id: id, components: { schemas: bundle.schemas } });
  return (schemaName, value) => {
    const validate = ajv.getSchema(`${id}${schemaRef}${schemaName}`);
    if (!validate) throw new Error(`no schema ${schemaName} in the bundle`);
    return validate(value) ? undefined : ajv.errorsText(validate.errors, { dataVar: schemaName });
  };
}

const pad = (value: number) => String(value).padStart(2, '0');

/** Formats the bundle uses that json-schema-faker has no generator for. */
const formats: Record<string, (random: Random) => string> = {
  date: (random) => `${random.int(2015, 2026)}-${pad(random.int(1, 12))}-${pad(random.int(1, 28))}`,
};

/**
 * How optional properties and `examples` are used; events of one type cycle through these. All but
 * `examples` are purely random; nullable values come out null or not at random in each.
 */
export const variants: { name: string; options: GenerateOptions }[] = [
  { name: 'examples', options: { useExamplesValue: true, alwaysFakeOptionals: true } },
  { name: 'every optional', options: { alwaysFakeOptionals: true } },
  { name: 'required only', options: { optionalsProbability: 0 } },
  { name: 'half the optionals', options: { optionalsProbability: 0.5 } },
];

// Terra's events nest deeply (event → data → record → group → samples → values): below the
// default depth of 5 the faker emits null for required, non-nullable values.
const baseOptions: GenerateOptions = { maxDepth: 12, maxItems: 3, formats };

export function generateFrom(bundle: TerraBundle, schemaName: string, seed: number, options: GenerateOptions = {}): GeneratedEvent {
  const root = { $ref: `${schemaRef}${schemaName}`, components: { schemas: bundle.schemas } } as JsonSchema;
  return generateSync(root, { ...baseOptions, ...options, seed });
}

/**
 * Gives the event's users ids no other event has, so events cannot collide in the tables; the
 * generated id is kept as a suffix. Changes nothing else.
 */
export function withUniqueUsers<T>(event: T, tag: string): T {
  // A JSON copy: the event is JSON, and a structured clone's objects would come from another realm under Jest.
  const copy = JSON.parse(JSON.stringify(event)) as Record<string, { user_id?: unknown } | null>;
  for (const [field, suffix] of [
    ['user', ''],
    ['new_user', ''],
    ['old_user', '-old'],
  ] as const) {
    const user = copy[field];
    if (user && typeof user === 'object' && typeof user.user_id === 'string') user.user_id = `${tag}${suffix}-${user.user_id}`;
  }
  return copy as T;
}

/** One event to send: generated from `schema` with `seed`, as `variant`. */
export interface TestCase {
  schema: string;
  variant: string;
  seed: number;
  event: GeneratedEvent;
  /** Ping mode: the event the `s3_payload` points at, to be served from 127.0.0.1. */
  served?: { schema: string; event: GeneratedEvent };
  /** How its one record must be kept (only for the deliberately large ones). */
  storage?: StoredForm;
}

/**
 * `count` events of one schema, cycling through the variants, seeds `seed`, `seed + 1`, …; an
 * `s3_payload` event gets a data event to point at, cycling through `pingTargets`.
 */
export function generateCases(
  bundle: TerraBundle,
  schema: string,
  { count, seed, pingTargets }: { count: number; seed: number; pingTargets: string[] },
): TestCase[] {
  const type = eventTypeOf(bundle, schema);
  return Array.from({ length: count }, (_, index) => {
    const variant = variants[index % variants.length];
    const event = withUniqueUsers(generateFrom(bundle, schema, seed + index, variant.options), `${type}-${index}`);
    if (type !== 's3_payload') return { schema, variant: variant.name, seed: seed + index, event };
    const target = pingTargets[index % pingTargets.length];
    const served = withUniqueUsers(generateFrom(bundle, target, seed + index, variant.options), `ping-${index}`);
    return { schema, variant: variant.name, seed: seed + index, event, served: { schema: target, event: served } };
  });
}

/** The branch of a `$ref`/`anyOf`/`oneOf` that describes this value (object or array), resolved. */
function schemaFor(bundle: TerraBundle, schema: Schema | undefined, value: unknown): Schema | undefined {
  if (schema?.$ref) return schemaFor(bundle, bundle.schemas[refName(schema.$ref)], value);
  const branches: Schema[] = schema?.anyOf ?? schema?.oneOf ?? [];
  if (branches.length === 0) return schema;
  const kind = Array.isArray(value) ? 'array' : 'object';
  return branches.map((branch) => schemaFor(bundle, branch, value)).find((branch) => branch?.type === kind);
}

/**
 * Lengthens every list of samples in a generated value (an array of a `…Sample` schema) to
 * `count` entries generated from that schema: Terra's large records are long sample series.
 * A global minItems would also lengthen lists nested in lists, multiplying the size.
 */
function lengthenSamples(bundle: TerraBundle, value: unknown, declared: Schema | undefined, count: number, seed: number): unknown {
  const schema = schemaFor(bundle, declared, value);
  if (Array.isArray(value)) {
    const itemRef: unknown = schema?.items?.$ref;
    if (typeof itemRef === 'string' && refName(itemRef).endsWith('Sample')) {
      const list = { type: 'array', items: { $ref: itemRef }, minItems: count, maxItems: count, components: { schemas: bundle.schemas } };
      return generateSync(list as JsonSchema, { maxDepth: baseOptions.maxDepth, formats, seed });
    }
    return value.map((item) => lengthenSamples(bundle, item, schema?.items, count, seed));
  }
  if (value === null || typeof value !== 'object') return value;
  const properties: Record<string, Schema> = Object.assign(
    {},
    ...[schema, ...(schema?.allOf ?? [])].map((part) => schemaFor(bundle, part, value)?.properties),
  );
  return Object.fromEntries(
    Object.entries(value).map(([key, child], index) => [key, lengthenSamples(bundle, child, properties[key], count, seed + index)]),
  );
}

/**
 * A generated activity event with one record large enough for `isLarge`: its lists of samples are
 * lengthened, doubling from 1,000 entries each, until the record qualifies.
 */
export function largeActivityEvent(bundle: TerraBundle, seed: number, isLarge: (record: unknown) => boolean): GeneratedEvent {
  const event = generateFrom(bundle, 'ActivityEvent', seed, variants[0].options);
  const record = generateFrom(bundle, 'Activity', seed, { alwaysFakeOptionals: true });
  for (let samples = 1_000; samples <= 256_000; samples *= 2) {
    const large = lengthenSamples(bundle, record, bundle.schemas.Activity, samples, seed);
    if (isLarge(large)) return { ...event, data: [large] };
  }
  throw new Error(`seed ${seed}: no activity record large enough from its lists of samples`);
}

/** Serves Ping-mode payloads on 127.0.0.1, as Terra's pre-signed S3 URLs would, until closed. */
export async function startPayloadServer() {
  const payloads = new Map<string, Buffer>();
  const server = createServer((request, response) => {
    const body = payloads.get(request.url ?? '');
    response.writeHead(body ? 200 : 404, { 'content-type': 'application/json', connection: 'close' });
    response.end(body);
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    serve(body: Buffer): string {
      const path = `/payloads/${payloads.size + 1}.json`;
      payloads.set(path, body);
      return `http://127.0.0.1:${port}${path}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Where two JSON values first differ, as a path with both values, or undefined when equal. */
export function firstDifference(sent: unknown, stored: unknown, path = '$'): string | undefined {
  if (Object.is(sent, stored)) return undefined;
  const bothObjects = sent !== null && stored !== null && typeof sent === 'object' && typeof stored === 'object';
  if (!bothObjects || Array.isArray(sent) !== Array.isArray(stored))
    return `${path}: sent ${JSON.stringify(sent)}, stored ${JSON.stringify(stored)}`;
  const keys = new Set([...Object.keys(sent as object), ...Object.keys(stored as object)]);
  for (const key of keys) {
    const difference = firstDifference((sent as Record<string, unknown>)[key], (stored as Record<string, unknown>)[key], `${path}.${key}`);
    if (difference) return difference;
  }
  return undefined;
}

/** What one generated event became, as read back from the tables. */
export interface Observation {
  schema: string;
  variant: string;
  /** Ping mode: the type of the event the `s3_payload` pointed at. */
  served?: string;
  recordsStored: number;
  /** Stored records marked deleted (activity `upload_type` 4). */
  deletes: number;
  recordsRefused: number;
  usersWritten: number;
  /** The outcome it was kept with in terra-events, if it was. */
  kept?: string;
  /** Where the stored records differ from the data contract; empty when they do not. */
  mismatches: string[];
}

const countsOf = (values: string[]) =>
  [...values.reduce((counts, value) => counts.set(value, (counts.get(value) ?? 0) + 1), new Map<string, number>())]
    .map(([value, count]) => `${value} ×${count}`)
    .join(', ');

/** "type × events generated → what each became", one row per event schema, as Markdown. */
export function summaryTable(bundle: TerraBundle, observations: Observation[]): string {
  const rows = [
    '| schema (`type`) | events | generated as | records stored (deletes) | records refused | users written | kept in terra-events | served by Ping mode | contract mismatches |',
    '| --- | ---: | --- | ---: | ---: | ---: | --- | --- | ---: |',
  ];
  const schemas = [...new Set(observations.map((observation) => observation.schema))];
  for (const schema of schemas) {
    const mine = observations.filter((observation) => observation.schema === schema);
    const sum = (pick: (observation: Observation) => number) => mine.reduce((total, observation) => total + pick(observation), 0);
    const list = (pick: (observation: Observation) => string | undefined) => countsOf(mine.flatMap((o) => pick(o) ?? [])) || '—';
    rows.push(
      `| ${schema} (\`${eventTypeOf(bundle, schema)}\`) | ${mine.length} | ${list((o) => o.variant)} | ${sum((o) => o.recordsStored)} (${sum((o) => o.deletes)}) | ` +
        `${sum((o) => o.recordsRefused)} | ${sum((o) => o.usersWritten)} | ${list((o) => o.kept)} | ${list((o) => o.served)} | ${sum((o) => o.mismatches.length)} |`,
    );
  }
  return rows.join('\n');
}

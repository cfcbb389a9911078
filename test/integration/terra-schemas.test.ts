import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { gzipSync } from 'node:zlib';
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type ConsumerDependencies, processDelivery } from '../../lambdas/consumer/process';
import { limits, payloadBucket } from '../../lambdas/shared/definitions';
import { readRecord } from '../../lambdas/shared/record-payload';
import { eventItemKey, readEventItem, readRecordItem, type StoredForm, userItemKey } from '../../lambdas/shared/table-items';
import type { LocalStack } from '../../lib/local/local-stack';
import { startTestStack, userRecords } from '../support/local';
import {
  createValidator,
  eventSchemaNames,
  eventTypeOf,
  firstDifference,
  generateCases,
  type GeneratedEvent,
  generateFrom,
  largeActivityEvent,
  loadTerraBundle,
  type Observation,
  startPayloadServer,
  summaryTable,
  type TestCase,
  unresolvedRefs,
  variants,
  webhookBodySchemas,
  withUniqueUsers,
} from '../support/terra-schemas';

/**
 * Proof from Terra's own schemas: events of every webhook type, generated from the JSON Schemas
 * of Terra's published OpenAPI bundle and checked with Ajv, are run through the real consumer
 * against dynalite and fauxqs' S3, and end where the data contract (README, "Data model") says.
 * TERRA_SCHEMAS_SEED=<n> generates another reproducible set.
 */

const eventsPerType = 20;
const seedOffset = Number(process.env.TERRA_SCHEMAS_SEED ?? 0);
const summaryPath = join(tmpdir(), 'terra-schemas-summary.md');

const bundle = loadTerraBundle();
const schemaNames = eventSchemaNames(bundle);
const validate = createValidator(bundle);

// ---- The data contract, written out independently of the consumer's code ----

const usable = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);
/** A field of a generated record, which may be any JSON value. */
const fieldOf = (record: unknown, name: string): unknown => (record as Record<string, unknown> | null | undefined)?.[name];
const metadataOf = (record: unknown): Record<string, unknown> => {
  const metadata = fieldOf(record, 'metadata');
  return (metadata && typeof metadata === 'object' ? metadata : {}) as Record<string, unknown>;
};
const bySummaryId = { field: 'metadata.summary_id', of: (record: unknown) => usable(metadataOf(record).summary_id) };
const byStartDate = { field: 'metadata.start_time', of: (record: unknown) => usable(metadataOf(record).start_time)?.slice(0, 10) };

/** Each record type's identifier, and the field a refusal names when it is not usable. */
const identifiers: Record<string, { field: string; of: (record: unknown) => string | undefined }> = {
  activity: bySummaryId,
  sleep: bySummaryId,
  health_observation: bySummaryId,
  daily: byStartDate,
  body: byStartDate,
  menstruation: byStartDate,
  nutrition: { field: 'metadata.start_time', of: (record) => usable(metadataOf(record).start_time) },
  planned_workout: {
    field: 'planned_workout_id',
    of: (record) => usable(fieldOf(record, 'planned_workout_id')) ?? usable(metadataOf(record).summary_id) ?? usable(metadataOf(record).id),
  },
  hormone: { field: 'timestamp', of: (record) => usable(fieldOf(record, 'timestamp')) },
};
const userStatuses: Record<string, string> = {
  deauth: 'deauthenticated',
  access_revoked: 'access_revoked',
  connection_error: 'connection_error',
};
const recordedTypes = ['auth_cancelled', 'large_request_processing', 'large_request_sending', 'lab_report.completed', 'lab_report.failed'];
const covered = new Set([
  ...Object.keys(identifiers),
  'athlete',
  'auth',
  'user_reauth',
  'permission_change',
  ...Object.keys(userStatuses),
  ...recordedTypes,
  's3_payload',
]);

interface Expected {
  /** The user whose terra-data items are the event's records. */
  recordsUser?: string;
  /** record_id → the records sent under it (one of them is stored) and whether each is a delete. */
  records: Map<string, { candidates: unknown[]; deletes: boolean[] }>;
  /** `data.<index>.<field>` of each record without a usable identifier. */
  refused: string[];
  users: Map<string, Record<string, unknown>>;
  kept?: { outcome: string; attributes: Record<string, string> };
  trackers: string[];
}

function contractFor(event: GeneratedEvent): Expected {
  const expected: Expected = { records: new Map(), refused: [], users: new Map(), trackers: [] };
  const { type } = event;
  const identifier = identifiers[type];
  if (identifier) {
    expected.recordsUser = event.user.user_id;
    for (const [index, record] of (event.data as unknown[]).entries()) {
      const id = identifier.of(record);
      if (id === undefined) {
        expected.refused.push(`data.${index}.${identifier.field}`);
        continue;
      }
      const entry = expected.records.get(`${type}#${id}`) ?? { candidates: [], deletes: [] };
      entry.candidates.push(record);
      entry.deletes.push(type === 'activity' && metadataOf(record).upload_type === 4);
      expected.records.set(`${type}#${id}`, entry);
    }
    if (expected.refused.length > 0) expected.kept = { outcome: 'invalid', attributes: {} };
    else if (event.data.length === 0) expected.kept = { outcome: 'recorded', attributes: {} };
  } else if (type === 'athlete') {
    expected.recordsUser = event.user.user_id;
    expected.records.set('athlete#profile', { candidates: [event.athlete], deletes: [false] });
  } else if (type === 'auth') {
    expected.users.set(event.user.user_id, { status: event.status === 'error' ? 'auth_failed' : 'connected' });
  } else if (userStatuses[type]) {
    expected.users.set(event.user.user_id, { status: userStatuses[type] });
  } else if (type === 'permission_change') {
    const scopes = Object.fromEntries(
      ['scopes_added', 'scopes_removed'].flatMap((name) => (usable(event[name]) ? [[name, event[name]]] : [])),
    );
    expected.users.set(event.user.user_id, {
      status: 'connected',
      ...scopes,
      ...(usable(event.user.scopes) && { scopes: event.user.scopes }),
    });
  } else if (type === 'user_reauth') {
    expected.users.set(event.new_user.user_id, { status: 'connected' });
    const old = event.old_user?.user_id;
    if (old && old !== event.new_user.user_id) expected.users.set(old, { status: 'replaced', replaced_by: event.new_user.user_id });
  } else if (recordedTypes.includes(type)) {
    const attributes: Record<string, string> = {};
    if (type.startsWith('lab_report.'))
      for (const name of ['session_id', 'reference_id']) if (usable(event.data?.[name])) attributes[name] = event.data[name];
    expected.kept = { outcome: 'recorded', attributes };
    if (type.startsWith('large_request_') && usable(event.reference)) expected.trackers.push(event.reference);
  } else {
    throw new Error(`the data contract does not cover type ${type}`);
  }
  return expected;
}

// ---- Running events through the consumer, and reading back what they became ----

let stack: LocalStack;
let deps: ConsumerDependencies;
let payloads: Awaited<ReturnType<typeof startPayloadServer>>;
const observations: Observation[] = [];
/** Every body the consumer was given or downloaded, by SHA-256: each must be archived. */
const bodies = new Set<string>();
const firstSignature = Math.floor(Date.now() / 1000);
let sent = 0;

beforeAll(async () => {
  stack = await startTestStack();
  payloads = await startPayloadServer();
  deps = { documentClient: stack.clients.documentClient, tables: stack.tableNames, s3: stack.clients.s3, bucket: stack.bucket };
}, 60_000);

afterAll(async () => {
  if (observations.length > 0) {
    const table = summaryTable(bundle, observations);
    // For people, not for the assertions: what each generated event became.
    writeFileSync(summaryPath, `${table}\n`);
  }
  await payloads?.close();
  await stack?.stop();
});

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');
const seedOf = (schema: string) => ([...schema].reduce((hash, char) => (hash * 31 + char.charCodeAt(0)) % 1_000_003, 7) + seedOffset) * 100;

/** How a record of this size is kept: a map, gzipped JSON, or JSON in S3. */
function storageOf(record: unknown): StoredForm {
  const json = JSON.stringify(record);
  if (Buffer.byteLength(json) <= limits.itemInlineMaxBytes) return 'map';
  return gzipSync(json).length <= limits.itemGzipMaxBytes ? 'gzip' : 's3';
}

const dataSchemas = schemaNames.filter((name) => identifiers[eventTypeOf(bundle, name)!] || eventTypeOf(bundle, name) === 'athlete');

/** Generated events of one type; the activity and Ping-mode ones also carry a record too large for an item. */
function casesFor(schema: string): TestCase[] {
  const type = eventTypeOf(bundle, schema)!;
  const cases = generateCases(bundle, schema, { count: eventsPerType, seed: seedOf(schema), pingTargets: dataSchemas });
  const seed = seedOf(schema) - 1;
  if (type === 'activity') {
    const event = withUniqueUsers(
      largeActivityEvent(bundle, seed, (record) => storageOf(record) === 'gzip'),
      'activity-large',
    );
    cases.push({ schema, variant: 'large record', seed, event, storage: 'gzip' });
  }
  if (type === 's3_payload') {
    const served = withUniqueUsers(
      largeActivityEvent(bundle, seed, (record) => storageOf(record) === 's3'),
      'ping-large',
    );
    const event = generateFrom(bundle, schema, seed, variants[0].options);
    cases.push({ schema, variant: 'large record', seed, event, served: { schema: 'ActivityEvent', event: served }, storage: 's3' });
  }
  return cases;
}

const getItem = async (table: 'data' | 'users' | 'events', key: Record<string, unknown>) =>
  (await stack.clients.documentClient.send(new GetCommand({ TableName: stack.tableNames[table], Key: key, ConsistentRead: true }))).Item;

/** The user's items in terra-data against the records sent; returns the items found. */
async function checkRecords(expected: Expected, testCase: TestCase, mismatches: string[]) {
  const items = expected.recordsUser ? await userRecords(stack, expected.recordsUser) : [];
  const stored = new Map(items.map((item) => [readRecordItem(item).recordId, item]));
  for (const recordId of stored.keys())
    if (!expected.records.has(recordId)) mismatches.push(`stored ${recordId}, which no record has as its identifier`);
  for (const [recordId, { candidates, deletes }] of expected.records) {
    const item = stored.get(recordId);
    if (!item) {
      mismatches.push(`${recordId} not stored`);
      continue;
    }
    const payload = await readRecord(item, stack.clients.s3);
    if (!candidates.some((candidate) => isDeepStrictEqual(candidate, payload))) {
      mismatches.push(`${recordId}: the stored payload is not the record as sent (${firstDifference(candidates[0], payload)})`);
    }
    // Several records under one id, deletes and not: which copy is stored is not decided.
    const deleted = deletes.every((del) => del === deletes[0]) ? deletes[0] : undefined;
    const record = readRecordItem(item);
    if (deleted !== undefined && record.deleted !== deleted)
      mismatches.push(`${recordId}: deleted is ${record.deleted}, expected ${deleted}`);
    if (testCase.storage && record.form !== testCase.storage)
      mismatches.push(`${recordId}: kept as ${record.form}, not as ${testCase.storage}`);
  }
  return stored;
}

async function checkKept(expected: Expected, body: Buffer, mismatches: string[]) {
  const item = await getItem('events', eventItemKey(sha256(body)));
  const kept = item && readEventItem(item);
  if (!expected.kept) {
    if (kept) mismatches.push(`kept in terra-events as ${kept.outcome} (${kept.reason}), expected nothing kept`);
    return kept;
  }
  if (!item || !kept) {
    mismatches.push(`not kept in terra-events (expected ${expected.kept.outcome})`);
    return kept;
  }
  if (kept.outcome !== expected.kept.outcome)
    mismatches.push(`kept as ${kept.outcome} (${kept.reason}), expected ${expected.kept.outcome}`);
  for (const [name, value] of Object.entries(expected.kept.attributes)) {
    if (item[name] !== value) mismatches.push(`kept event's ${name} is ${item[name]}, expected ${value}`);
  }
  for (const field of expected.refused)
    if (!String(kept.reason).includes(field)) mismatches.push(`kept event's reason does not name ${field}: ${kept.reason}`);
  return kept;
}

async function checkUsersAndTrackers(expected: Expected, mismatches: string[]) {
  let usersWritten = 0;
  for (const [userId, attributes] of expected.users) {
    const user = await getItem('users', userItemKey(userId));
    if (!user) mismatches.push(`user ${userId} not in terra-users`);
    else usersWritten++;
    for (const [name, value] of Object.entries(user ? attributes : {})) {
      if (user![name] !== value) mismatches.push(`user ${userId}: ${name} is ${user![name]}, expected ${value}`);
    }
  }
  for (const reference of expected.trackers) {
    const item = await getItem('events', eventItemKey(`large_request#${reference}`));
    const tracker = item && readEventItem(item);
    if (tracker?.outcome !== 'tracking')
      mismatches.push(`tracker large_request#${reference}: ${tracker ? `outcome ${tracker.outcome}` : 'missing'}`);
  }
  return usersWritten;
}

/** Sends one event as a delivery, then compares the tables with the contract. */
async function run(testCase: TestCase): Promise<Observation> {
  const mismatches: string[] = [];
  const wrapper = Buffer.from(JSON.stringify(testCase.event));
  const body = testCase.served ? Buffer.from(JSON.stringify(testCase.served.event)) : wrapper;
  // The contract is about the records as sent: the bytes, parsed back.
  const expected = contractFor(JSON.parse(body.toString('utf8')));
  const signatureTimestamp = firstSignature + sent++;
  try {
    await processDelivery({ body: wrapper, signatureTimestamp, receivedAt: new Date(signatureTimestamp * 1000).toISOString() }, deps);
  } catch (error) {
    mismatches.push(`processDelivery threw: ${(error as Error).message}`);
  }
  bodies.add(sha256(wrapper)).add(sha256(body));

  const stored = await checkRecords(expected, testCase, mismatches);
  const kept = await checkKept(expected, body, mismatches);
  if (testCase.served && (await getItem('events', eventItemKey(sha256(wrapper))))) mismatches.push('the s3_payload event itself was kept');
  const usersWritten = await checkUsersAndTrackers(expected, mismatches);
  const storedIds = [...expected.records.keys()].filter((recordId) => stored.has(recordId));
  return {
    schema: testCase.schema,
    variant: testCase.variant,
    served: testCase.served && eventTypeOf(bundle, testCase.served.schema),
    recordsStored: storedIds.length,
    deletes: storedIds.filter((recordId) => readRecordItem(stored.get(recordId)!).deleted).length,
    recordsRefused: kept?.outcome === 'invalid' ? expected.refused.filter((field) => String(kept.reason).includes(field)).length : 0,
    usersWritten,
    kept: kept?.outcome,
    mismatches: mismatches.map((mismatch) => `${testCase.schema} seed ${testCase.seed} (${testCase.variant}): ${mismatch}`),
  };
}

describe("events generated from Terra's published schemas, of every webhook type", () => {
  it('every event type Terra lists, and every body its webhooks section can send, is covered by the data contract', () => {
    expect(schemaNames.length).toBeGreaterThanOrEqual(22);
    expect(schemaNames.filter((name) => !covered.has(eventTypeOf(bundle, name) ?? `(${name} fixes no type)`))).toEqual([]);
    const bodySchemas = webhookBodySchemas(bundle);
    expect(bodySchemas.length).toBeGreaterThanOrEqual(17);
    // A body schema outside the generated set, or a type the contract does not handle, fails here.
    expect(
      bodySchemas.filter(({ schema }) => !schema || !schemaNames.includes(schema) || !covered.has(eventTypeOf(bundle, schema)!)),
    ).toEqual([]);
    expect(unresolvedRefs(bundle, [...schemaNames, ...bodySchemas.flatMap(({ schema }) => (schema ? [schema] : []))])).toEqual([]);
  });

  it.each(schemaNames)(
    '%s: each generated event is schema-valid and stored per the data contract',
    async (schema) => {
      const cases = casesFor(schema);
      for (const testCase of cases) {
        if (testCase.served) testCase.event.url = payloads.serve(Buffer.from(JSON.stringify(testCase.served.event)));
      }
      // A generated event Ajv refuses is a generator bug, not a finding about the consumer.
      const invalid = cases.flatMap(({ schema: name, seed, event, served }) =>
        [validate(name, event), served && validate(served.schema, served.event)].filter(Boolean).map((errors) => `seed ${seed}: ${errors}`),
      );
      expect(invalid).toEqual([]);

      const results: Observation[] = [];
      for (let next = 0; next < cases.length; next += 4) results.push(...(await Promise.all(cases.slice(next, next + 4).map(run))));
      observations.push(...results);
      expect(results.flatMap((result) => result.mismatches)).toEqual([]);
    },
    60_000,
  );

  it('archived every body it was given or downloaded, raw', async () => {
    const archived = new Set<string>();
    for await (const page of paginateListObjectsV2(
      { client: stack.clients.s3 },
      { Bucket: stack.bucket, Prefix: payloadBucket.prefixes.archive },
    )) {
      for (const object of page.Contents ?? []) archived.add(object.Key!.slice(-16));
    }
    expect(bodies.size).toBeGreaterThan(0);
    expect([...bodies].filter((hash) => !archived.has(hash.slice(0, 16)))).toEqual([]);
  });
});

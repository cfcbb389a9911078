import { createHash, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dataAttributes } from '../shared/attributes';
import { defaults, limits, payloadBucket } from '../shared/definitions';
import { storedCopyRefuses } from '../shared/ordering';
import { readRecord } from '../shared/record-payload';
import { deleteObject, putObject } from '../shared/s3';
import { s3Url } from '../shared/s3-url';
import { dataItemKey, readRecordItem } from '../shared/table-items';
import { conditionally, conditionallyReturning, isItemRejected } from './dynamodb-writes';
import type { DeliveryContext } from './delivery-context';
import { fitLinkUpdate, type PayloadAttributes, type RecordPutOptions, recordPut, type StoredCopyGuard, tombstoneUpdate } from './items';
import type { DataRecord } from './route';
import type { TerraUser } from './terra-schemas';

/**
 * Writes one Terra record, applying Terra's own rules on top of "newest wins":
 * - a record too large for an item goes gzipped into the item, or to S3 (`payload_s3`);
 * - `data_enrichment` scores that come back null in a newer copy do not erase stored ones;
 * - an activity with `upload_type` 4 (delete) becomes a tombstone: still readable, marked deleted.
 */

export interface RecordStore {
  documentClient: DynamoDBDocumentClient;
  table: string;
  s3?: S3Client;
  bucket?: string;
  /** Records whose JSON is larger are stored gzipped, not as a map; defaults.recordMapMaxBytes unless given. */
  mapMaxBytes?: number;
}

const deleteUploadType = 4;
// How often a guarded read-then-write is tried again when another copy lands in between.
const guardedRetries = 3;

type Json = Record<string, unknown>;

type Storage = 'map' | 'gzip';

/** DynamoDB nests maps and lists 32 levels deep at most, the item's own level included. */
const mapMaxDepth = 31;

/**
 * Whether a record can be a DynamoDB map as sent and read back as it was. Not when it nests deeper
 * than DynamoDB allows; holds a number JSON.parse made infinite (`1e400`: the SDK refuses it before
 * sending) or beyond ±2^53 (the SDK reads it back as a BigInt, which JSON.stringify refuses: the
 * next enrichment merge of the record, or a tool reading it, would throw); or has a key the SDK's
 * marshaller misreads: `constructor` (it decides an object's type by `constructor.name`: it
 * throws, or takes the object for a Set or binary) or `__proto__` (an own key after JSON.parse;
 * marshalled into an attribute DynamoDB refuses, a round trip for nothing). Such a record is
 * stored gzipped, as its JSON.
 */
export function fitsAsMap(record: unknown): boolean {
  const stack: [unknown, number][] = [[record, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value === 'number' && !(Math.abs(value) <= Number.MAX_SAFE_INTEGER)) return false;
    if (value === null || typeof value !== 'object') continue;
    if (depth > mapMaxDepth || Object.hasOwn(value, '__proto__') || Object.hasOwn(value, 'constructor')) return false;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return true;
}

async function payloadFor(store: RecordStore, userId: string, record: DataRecord, context: DeliveryContext, atLeast: Storage = 'map') {
  const json = JSON.stringify(record.record);
  const mapMaxBytes = Math.min(store.mapMaxBytes ?? defaults.recordMapMaxBytes, limits.itemInlineMaxBytes);
  if (atLeast === 'map' && Buffer.byteLength(json) <= mapMaxBytes && fitsAsMap(record.record))
    return { attributes: { [dataAttributes.payload]: record.record } as PayloadAttributes };
  const compressed = gzipSync(json);
  if (compressed.length <= limits.itemGzipMaxBytes)
    return { attributes: { [dataAttributes.payloadGzip]: compressed } as PayloadAttributes };
  if (!store.s3 || !store.bucket)
    throw new Error(`record ${record.recordId} needs S3 (${compressed.length} bytes gzipped) but no bucket is configured`);
  const url = s3Url(store.bucket, recordObjectKey(userId, record.recordId, context.orderingTs));
  await putObject(store.s3, url, json);
  return { attributes: { [dataAttributes.payloadS3]: url } as PayloadAttributes, objectWritten: url };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Where one user's large records live: `records/<user_id>/`, the id URI-encoded (as under
 * archive-index/) so that a `/` in one id cannot put its objects under another user's prefix,
 * which erasing that user lists and deletes. An id too long for S3's 1,024-byte keys goes by its
 * SHA-256 after a `#`, which no encoded id holds.
 */
export function recordsPrefix(userId: string): string {
  const encoded = encodeURIComponent(userId);
  return `${payloadBucket.prefixes.records}${encoded.length <= 256 ? encoded : `#${sha256(userId)}`}/`;
}

/** Unique per attempt: a repeat of the same copy must never name (and then delete) the object the stored item points to. */
function recordObjectKey(userId: string, recordId: string, orderingTs: number): string {
  const record = Buffer.byteLength(recordId) <= 512 ? recordId : `#${sha256(recordId)}`;
  return `${recordsPrefix(userId)}${record}/${orderingTs}-${randomUUID()}.json`;
}

function hasMissingEnrichment(record: Json): boolean {
  if (!('data_enrichment' in record)) return false;
  const enrichment = record.data_enrichment;
  return enrichment === null || Object.values(enrichment as Json).some((value) => value === null);
}

/** Terra may send a newer copy with null scores; the stored scores stay. */
export function keepStoredEnrichment(incoming: Json, stored: Json | undefined): Json {
  const previous = stored?.data_enrichment as Json | null | undefined;
  if (!previous || typeof previous !== 'object') return incoming;
  const next = (incoming.data_enrichment ?? {}) as Json;
  const merged: Json = { ...next };
  for (const [key, value] of Object.entries(previous)) {
    if ((next[key] === null || next[key] === undefined) && value !== null && value !== undefined) merged[key] = value;
  }
  return { ...incoming, data_enrichment: merged };
}

/**
 * What a conditional put came to. `stored` is the item that failed the condition when DynamoDB
 * sent it back (ReturnValuesOnConditionCheckFailure; dynalite never does): the read it saves.
 */
interface PutOutcome {
  written: boolean;
  stored?: Json;
}

async function put(
  store: RecordStore,
  type: string,
  user: TerraUser,
  record: DataRecord,
  context: DeliveryContext,
  options?: RecordPutOptions,
): Promise<PutOutcome> {
  try {
    return await putAs('map', store, type, user, record, context, options);
  } catch (error) {
    // DynamoDB refused the map itself (a value outside its number range, say): the same record
    // as gzipped JSON is kept byte for byte.
    if (!isItemRejected(error)) throw error;
    return putAs('gzip', store, type, user, record, context, options);
  }
}

async function putAs(
  storage: Storage,
  store: RecordStore,
  type: string,
  user: TerraUser,
  record: DataRecord,
  context: DeliveryContext,
  options?: RecordPutOptions,
): Promise<PutOutcome> {
  const { attributes, objectWritten } = await payloadFor(store, user.user_id, record, context, storage);
  const input = recordPut(store.table, type, user, record, context, attributes, options);
  let replaced: Record<string, unknown> | undefined;
  // The item replaced is asked for by a copy kept in S3, to remove the object that one used,
  // and by an activity, to keep its FIT link.
  const asksOld = objectWritten !== undefined || type === 'activity';
  // A guarded put is followed by a merge with whatever stopped it: ask for that copy.
  const asksStored = options?.guard !== undefined;
  const { written, stored } = await conditionallyReturning(async () => {
    const output = await store.documentClient.send(
      new PutCommand({
        ...input,
        ...(asksOld && { ReturnValues: 'ALL_OLD' }),
        ...(asksStored && { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
      }),
    );
    replaced = output.Attributes;
  });
  const old = replaced === undefined ? undefined : readRecordItem(replaced);
  const fit = old?.fitS3;
  if (written && fit !== undefined && input.Item?.[dataAttributes.fitS3] === undefined) {
    // A Put replaces the item whole, but the raw FIT file the S3 destination linked (fit-files.ts)
    // belongs to the activity, not to one copy: a newer copy from any door keeps it. Set where
    // no link is: should a still newer copy land first, it gets the link too; a link made since
    // stays. Never creates an item.
    await conditionally(() =>
      store.documentClient.send(new UpdateCommand(fitLinkUpdate(store.table, user.user_id, record.recordId, fit, true))),
    );
  }
  const outcome: PutOutcome = { written, ...(stored && { stored: unmarshalled(store, stored) }) };
  if (!store.s3) return outcome;
  if (!written && objectWritten) await deleteObject(store.s3, objectWritten); // a stale copy's object: an orphan
  const previous = old?.payloadS3;
  if (written && previous !== undefined && previous !== objectWritten) await deleteObject(store.s3, previous);
  return outcome;
}

/** The stored copy, read as the document client reads (its numbers, its binary). */
function unmarshalled(store: RecordStore, item: Record<string, AttributeValue>): Json {
  return unmarshall(
    item,
    store.documentClient.config?.translateConfig?.unmarshallOptions ?? { wrapNumbers: (value: string) => Number(value) },
  );
}

async function readStored(store: RecordStore, user: TerraUser, record: DataRecord): Promise<Json | undefined> {
  const { Item } = await store.documentClient.send(
    new GetCommand({ TableName: store.table, Key: dataItemKey(user.user_id, record.recordId), ConsistentRead: true }),
  );
  return Item;
}

/** The ordering rule's view of a stored item. */
const storedCopy = (stored: Json) => {
  const { orderingTs, bodySha256 } = readRecordItem(stored);
  return { orderingTs, bodySha256 };
};

/**
 * A copy with null scores is written first as though nothing stored had scores to keep: that is
 * so when nothing is stored yet, or the stored copy's `data_enrichment` is null too (items.ts,
 * `nothing_to_keep`), and then no read is needed. Only when that condition fails is the stored
 * copy read (or taken from the failure, where DynamoDB returns it) and merged, as before.
 */
async function putKeepingEnrichment(store: RecordStore, type: string, user: TerraUser, record: DataRecord, context: DeliveryContext) {
  const first = await put(store, type, user, record, context, { guard: 'nothing_to_keep' });
  if (first.written) return true;
  let stored = first.stored ?? (await readStored(store, user, record));
  for (let attempt = 0; attempt < guardedRetries; attempt++) {
    if (stored && storedCopyRefuses(storedCopy(stored), context)) return false;
    if (stored && storedCopy(stored).orderingTs >= context.orderingTs) {
      return (await put(store, type, user, record, context)).written; // decided by the usual condition
    }
    const merged = keepStoredEnrichment(record.record, stored ? ((await readRecord(stored, store.s3)) as Json) : undefined);
    // Optimistic: written only if the copy we merged with is still the stored one; if another
    // copy landed in between, merge with that one.
    const guard: StoredCopyGuard = stored ? storedCopy(stored) : 'absent';
    const outcome = await put(store, type, user, { ...record, record: merged }, context, { guard });
    if (outcome.written) return true;
    stored = outcome.stored ?? (await readStored(store, user, record));
  }
  throw new Error(`record ${record.recordId} kept changing while its enrichment was merged; will retry`);
}

async function tombstone(store: RecordStore, type: string, user: TerraUser, record: DataRecord, context: DeliveryContext) {
  // A delete marks the stored record; only when nothing is stored yet is the delete copy itself
  // kept. Between the two writes another copy may land: then mark that one, and so on.
  for (let attempt = 0; attempt < guardedRetries; attempt++) {
    const marked = await conditionally(() =>
      store.documentClient.send(new UpdateCommand(tombstoneUpdate(store.table, user, record, context))),
    );
    if (marked) return true;
    const { Item: stored } = await store.documentClient.send(
      new GetCommand({ TableName: store.table, Key: dataItemKey(user.user_id, record.recordId), ConsistentRead: true }),
    );
    if (stored) {
      if (storedCopy(stored).orderingTs >= context.orderingTs) return false; // a newer (or the same) copy is stored
      continue; // an older copy landed in between: mark it
    }
    const deleted = { [dataAttributes.deleted]: true, [dataAttributes.deletedAt]: context.receivedAt };
    if ((await put(store, type, user, record, context, { guard: 'absent', extra: deleted })).written) return true;
  }
  throw new Error(`record ${record.recordId} kept changing while its delete was applied; will retry`);
}

export async function writeRecord(store: RecordStore, type: string, user: TerraUser, record: DataRecord, context: DeliveryContext) {
  const metadata = (record.record.metadata ?? {}) as Json;
  if (type === 'activity' && metadata.upload_type === deleteUploadType) return tombstone(store, type, user, record, context);
  if (hasMissingEnrichment(record.record)) return putKeepingEnrichment(store, type, user, record, context);
  return (await put(store, type, user, record, context)).written;
}

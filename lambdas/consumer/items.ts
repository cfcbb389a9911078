import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { PutCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { dataAttributes, eventAttributes, userAttributes } from '../shared/attributes';
import { limits } from '../shared/definitions';
import { type Condition, newerCopy, nothingStoredYet, nothingToKeep, stillStored } from '../shared/ordering';
import { dataItemKey, eventItemKey, userItemKey } from '../shared/table-items';
import type { DeliveryContext } from './delivery-context';
import type { DataRecord, EventOutcome, UserChange } from './route';
import type { TerraUser } from './terra-schemas';

/**
 * Builds the DynamoDB writes. Pure. Which copy may replace which is the ordering rule's
 * (lambdas/shared/ordering.ts); the attribute names are attributes.ts's.
 */

const optional = <T>(name: string, value: T | undefined | null) =>
  value === undefined || value === null || value === '' ? {} : { [name]: value };

export type PayloadAttributes =
  | { [dataAttributes.payload]: unknown }
  | { [dataAttributes.payloadGzip]: Uint8Array }
  | { [dataAttributes.payloadS3]: string };

/**
 * Instead of "newer than the stored copy": write only if nothing is stored (`absent`), or only if
 * the stored copy is still the one that was read (optimistic concurrency for read-merge-write), or
 * (`nothing_to_keep`) if the stored copy is older and keeps no enrichment a merge would carry over.
 */
export type StoredCopyGuard = 'absent' | 'nothing_to_keep' | { orderingTs: number; bodySha256: string };

export interface RecordPutOptions {
  guard?: StoredCopyGuard;
  /** More attributes, e.g. `deleted` on a tombstone. */
  extra?: Record<string, unknown>;
}

function guardCondition(guard: StoredCopyGuard | undefined, delivery: DeliveryContext): Condition {
  if (guard === undefined) return newerCopy(delivery);
  if (guard === 'absent') return nothingStoredYet();
  if (guard === 'nothing_to_keep') return nothingToKeep(delivery);
  return stillStored(guard);
}

export function recordPut(
  tableName: string,
  type: string,
  user: TerraUser,
  record: DataRecord,
  delivery: DeliveryContext,
  payload: PayloadAttributes,
  options: RecordPutOptions = {},
): PutCommandInput {
  return {
    TableName: tableName,
    Item: {
      ...dataItemKey(user.user_id, record.recordId),
      [dataAttributes.userType]: `${user.user_id}#${type}`,
      [dataAttributes.type]: type,
      ...optional(dataAttributes.provider, user.provider),
      ...optional(dataAttributes.referenceId, user.reference_id),
      ...optional(dataAttributes.startTime, record.startTime),
      ...optional(dataAttributes.endTime, record.endTime),
      ...optional(dataAttributes.summaryId, record.summaryId),
      [dataAttributes.orderingTs]: delivery.orderingTs,
      [dataAttributes.receivedAt]: delivery.receivedAt,
      [dataAttributes.bodySha256]: delivery.bodySha256,
      ...optional(dataAttributes.terraReference, delivery.terraReference),
      ...optional(dataAttributes.s3Sequencer, delivery.s3Sequencer),
      ...options.extra,
      ...payload,
    },
    ...guardCondition(options.guard, delivery),
  };
}

/** Marks a stored record deleted (activity `upload_type` 4), keeping its last full copy readable. */
export function tombstoneUpdate(tableName: string, user: TerraUser, record: DataRecord, delivery: DeliveryContext): UpdateCommandInput {
  const condition = newerCopy(delivery);
  // The S3 door's tie-breaker travels with the copy; a copy from another door clears it.
  const sequencer = delivery.s3Sequencer !== undefined ? ', #s3_sequencer = :s3_sequencer' : '';
  return {
    TableName: tableName,
    Key: dataItemKey(user.user_id, record.recordId),
    UpdateExpression:
      `SET #deleted = :deleted, #deleted_at = :received_at, #ordering_ts = :ordering_ts, #received_at = :received_at, #body_sha256 = :body_sha256${sequencer}` +
      (sequencer ? '' : ' REMOVE #s3_sequencer'),
    ConditionExpression: `attribute_exists(#ordering_ts) AND (${condition.ConditionExpression})`,
    ExpressionAttributeNames: {
      ...condition.ExpressionAttributeNames,
      '#received_at': dataAttributes.receivedAt,
      '#s3_sequencer': dataAttributes.s3Sequencer,
      '#deleted': dataAttributes.deleted,
      '#deleted_at': dataAttributes.deletedAt,
    },
    ExpressionAttributeValues: {
      ...condition.ExpressionAttributeValues,
      ':received_at': delivery.receivedAt,
      ':deleted': true,
      ...(sequencer && { ':s3_sequencer': delivery.s3Sequencer }),
    },
  };
}

export function userUpdate(tableName: string, type: string, change: UserChange, delivery: DeliveryContext): UpdateCommandInput {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const assignments: string[] = [];
  const set = (attribute: string, value: unknown, expression?: (placeholder: string) => string) => {
    if (value === undefined) return;
    names[`#${attribute}`] = attribute;
    values[`:${attribute}`] = value;
    assignments.push(`#${attribute} = ${expression ? expression(`:${attribute}`) : `:${attribute}`}`);
  };
  set(userAttributes.provider, change.provider);
  // A reference_id is a GSI key: only a non-empty string may be written.
  set(userAttributes.referenceId, change.referenceId);
  if (change.status === undefined) {
    // A first sighting through a permission change: the user evidently is connected.
    set(userAttributes.status, 'connected', (value) => `if_not_exists(#status, ${value})`);
  } else {
    set(userAttributes.status, change.status);
  }
  set(userAttributes.active, change.active);
  set(userAttributes.scopes, change.scopes);
  for (const [attribute, value] of Object.entries(change.extra ?? {})) set(attribute, value);
  set(userAttributes.lastEventType, type);
  set(userAttributes.updatedAt, delivery.receivedAt);
  set(userAttributes.bodySha256, delivery.bodySha256);
  set(userAttributes.orderingTs, delivery.orderingTs);
  set(userAttributes.s3Sequencer, delivery.s3Sequencer);
  // A user's arrival time is its updated_at.
  const condition = newerCopy(delivery, userAttributes.updatedAt);
  return {
    TableName: tableName,
    Key: userItemKey(change.userId),
    // The S3 door's tie-breaker travels with the copy; a copy from another door clears it.
    UpdateExpression: `SET ${assignments.join(', ')}${delivery.s3Sequencer === undefined ? ' REMOVE #s3_sequencer' : ''}`,
    ConditionExpression: condition.ConditionExpression,
    ExpressionAttributeNames: { ...names, ...condition.ExpressionAttributeNames, '#s3_sequencer': userAttributes.s3Sequencer },
    ExpressionAttributeValues: { ...values, ...condition.ExpressionAttributeValues },
  };
}

/**
 * Points an activity's item at its raw FIT file in Terra's S3 destination bucket (fit-files.ts).
 * Never creates an item: an activity with only a FIT file and no record is not a record.
 * `onlyUnlinked`: set only where no link is yet, so a link made meanwhile stays.
 */
export function fitLinkUpdate(tableName: string, userId: string, recordId: string, file: string, onlyUnlinked = false): UpdateCommandInput {
  return {
    TableName: tableName,
    Key: dataItemKey(userId, recordId),
    UpdateExpression: 'SET #fit_s3 = :fit_s3',
    ConditionExpression: `attribute_exists(#record_id)${onlyUnlinked ? ' AND attribute_not_exists(#fit_s3)' : ''}`,
    ExpressionAttributeNames: { '#fit_s3': dataAttributes.fitS3, '#record_id': dataAttributes.recordId },
    ExpressionAttributeValues: { ':fit_s3': file },
  };
}

/** Content-addressed, so a redelivered body is kept once. */
export function eventId(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface KeptEvent {
  type: string;
  outcome: EventOutcome;
  reason: string;
  userId?: string;
  /** More attributes, e.g. a lab report's `session_id` and `reference_id`. */
  attributes?: Record<string, string>;
}

export type EventBodyAttributes =
  | { [eventAttributes.body]: string }
  | { [eventAttributes.bodyGzip]: Uint8Array }
  | { [eventAttributes.bodyS3]: string };

/** The raw body as text when it is small UTF-8, else gzipped; undefined when even that is too large for an item. */
export function inlineEventBody(body: Buffer): EventBodyAttributes | undefined {
  const text = body.toString('utf8');
  if (body.length <= limits.itemInlineMaxBytes && Buffer.from(text, 'utf8').equals(body)) return { [eventAttributes.body]: text };
  const compressed = gzipSync(body);
  return compressed.length <= limits.itemGzipMaxBytes ? { [eventAttributes.bodyGzip]: compressed } : undefined;
}

/*
 * A kept event's attributes come from the body or unsigned headers, so a hostile one can be any
 * length, and the item must stay under 400 KB beside the body, which keeps every byte: a type or
 * reason is cut; an identifier longer than any key can be (2,048 bytes) is left out, not cut into
 * another identifier.
 */
function bounded(text: string): string {
  if (text.length <= limits.keptTextMaxLength) return text;
  // Not between the halves of a surrogate pair: DynamoDB takes only well-formed UTF-8.
  const end = /[\uD800-\uDBFF]/.test(text[limits.keptTextMaxLength - 1]) ? limits.keptTextMaxLength - 1 : limits.keptTextMaxLength;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}

const identifier = (value: string | undefined) =>
  value !== undefined && Buffer.byteLength(value) <= limits.dynamoDbPartitionKeyBytes ? value : undefined;

export function eventPut(
  tableName: string,
  event: KeptEvent,
  body: Buffer,
  delivery: DeliveryContext,
  bodyAttributes: EventBodyAttributes = inlineEventBody(body) ?? { [eventAttributes.bodyGzip]: gzipSync(body) },
): PutCommandInput {
  const attributes = Object.fromEntries(Object.entries(event.attributes ?? {}).filter(([, value]) => identifier(value) !== undefined));
  // event_id is the body's hash, which the delivery context already holds.
  return {
    TableName: tableName,
    Item: {
      ...attributes,
      ...eventItemKey(delivery.bodySha256),
      [eventAttributes.type]: bounded(event.type),
      [eventAttributes.outcome]: event.outcome,
      [eventAttributes.reason]: bounded(event.reason),
      ...optional(eventAttributes.userId, identifier(event.userId)),
      [eventAttributes.receivedAt]: delivery.receivedAt,
      [eventAttributes.signatureTs]: delivery.signatureTimestamp,
      [eventAttributes.orderingTs]: delivery.orderingTs,
      ...optional(eventAttributes.terraReference, identifier(delivery.terraReference)),
      ...optional(eventAttributes.traceId, identifier(delivery.traceId)),
      ...bodyAttributes,
    },
    ConditionExpression: `attribute_not_exists(${eventAttributes.eventId})`,
  };
}

/** The id of the item that tracks one historical request in terra-events. */
export const largeRequestId = (reference: string) => `large_request#${reference}`;

function trackerUpdate(
  tableName: string,
  reference: string,
  delivery: DeliveryContext,
  set: Record<string, unknown>,
  add?: Record<string, unknown>,
): UpdateCommandInput {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const fields = { [eventAttributes.reference]: reference, [eventAttributes.updatedAt]: delivery.receivedAt, ...set };
  const assignments = Object.entries(fields).map(([name, value]) => {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    return `#${name} = :${name}`;
  });
  names['#received_at'] = eventAttributes.receivedAt;
  values[':received_at'] = delivery.receivedAt;
  assignments.push('#received_at = if_not_exists(#received_at, :received_at)');
  const additions = Object.entries(add ?? {}).map(([name, value]) => {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    return `#${name} :${name}`;
  });
  return {
    TableName: tableName,
    Key: eventItemKey(largeRequestId(reference)),
    UpdateExpression: `SET ${assignments.join(', ')}${additions.length ? ` ADD ${additions.join(', ')}` : ''}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/**
 * `large_request_processing` / `large_request_sending`: makes the tracker a backfill's (type
 * `large_request`, outcome `tracking`), with how many data events it will bring once Terra says
 * so. Chunks that overtook the announcement (SQS keeps no order) are already in its set.
 */
export function largeRequestAnnounced(
  tableName: string,
  reference: string,
  delivery: DeliveryContext,
  userId?: string,
  expectedPayloads?: number,
) {
  return trackerUpdate(tableName, reference, delivery, {
    [eventAttributes.type]: 'large_request',
    [eventAttributes.outcome]: 'tracking',
    [eventAttributes.reason]:
      expectedPayloads === undefined ? 'backfill announced, still processing' : `backfill of ${expectedPayloads} data events announced`,
    ...(expectedPayloads !== undefined && { [eventAttributes.expectedPayloads]: expectedPayloads }),
    ...(userId && { [eventAttributes.userId]: userId }),
  });
}

/**
 * A data event carrying a terra-reference: its body hash joins the reference's set, so a
 * redelivered chunk counts once and `received_payloads` compares with `expected_payloads`. The
 * set is kept whether or not the backfill was announced yet, because a chunk may overtake its
 * announcement; without `type` and `outcome` the item stays out of the outcome index, and only an
 * announcement makes it a backfill's tracker. (Terra puts a terra-reference on other deliveries
 * too: theirs stay small, unannounced sets.)
 */
export function largeRequestReceived(tableName: string, reference: string, delivery: DeliveryContext, userId: string): UpdateCommandInput {
  return trackerUpdate(
    tableName,
    reference,
    delivery,
    { [eventAttributes.userId]: userId },
    { [eventAttributes.receivedPayloads]: new Set([delivery.bodySha256.slice(0, 16)]) },
  );
}

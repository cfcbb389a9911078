import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { PutCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { limits } from '../shared/definitions';
import { type Condition, newerCopy, nothingStoredYet, nothingToKeep, stillStored } from '../shared/ordering';
import type { DeliveryContext } from './delivery-context';
import type { DataRecord, EventOutcome, UserChange } from './route';
import type { TerraUser } from './terra-schemas';

/**
 * Builds the DynamoDB writes. Pure. Which copy may replace which is the ordering rule's
 * (lambdas/shared/ordering.ts); the attribute names are attributes.ts's.
 */

const optional = <T>(name: string, value: T | undefined | null) =>
  value === undefined || value === null || value === '' ? {} : { [name]: value };

export type PayloadAttributes = { payload: unknown } | { payload_gzip: Uint8Array } | { payload_s3: string };

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
      user_id: user.user_id,
      record_id: record.recordId,
      user_type: `${user.user_id}#${type}`,
      type,
      ...optional('provider', user.provider),
      ...optional('reference_id', user.reference_id),
      ...optional('start_time', record.startTime),
      ...optional('end_time', record.endTime),
      ...optional('summary_id', record.summaryId),
      ordering_ts: delivery.orderingTs,
      received_at: delivery.receivedAt,
      body_sha256: delivery.bodySha256,
      ...optional('terra_reference', delivery.terraReference),
      ...optional('s3_sequencer', delivery.s3Sequencer),
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
    Key: { user_id: user.user_id, record_id: record.recordId },
    UpdateExpression:
      `SET #deleted = :deleted, #deleted_at = :received_at, #ordering_ts = :ordering_ts, #received_at = :received_at, #body_sha256 = :body_sha256${sequencer}` +
      (sequencer ? '' : ' REMOVE #s3_sequencer'),
    ConditionExpression: `attribute_exists(#ordering_ts) AND (${condition.ConditionExpression})`,
    ExpressionAttributeNames: {
      ...condition.ExpressionAttributeNames,
      '#received_at': 'received_at',
      '#s3_sequencer': 's3_sequencer',
      '#deleted': 'deleted',
      '#deleted_at': 'deleted_at',
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
  set('provider', change.provider);
  // A reference_id is a GSI key: only a non-empty string may be written.
  set('reference_id', change.referenceId);
  if (change.status === undefined) {
    // A first sighting through a permission change: the user evidently is connected.
    set('status', 'connected', (value) => `if_not_exists(#status, ${value})`);
  } else {
    set('status', change.status);
  }
  set('active', change.active);
  set('scopes', change.scopes);
  for (const [attribute, value] of Object.entries(change.extra ?? {})) set(attribute, value);
  set('last_event_type', type);
  set('updated_at', delivery.receivedAt);
  set('body_sha256', delivery.bodySha256);
  set('ordering_ts', delivery.orderingTs);
  set('s3_sequencer', delivery.s3Sequencer);
  // A user's arrival time is its updated_at.
  const condition = newerCopy(delivery, 'updated_at');
  return {
    TableName: tableName,
    Key: { user_id: change.userId },
    // The S3 door's tie-breaker travels with the copy; a copy from another door clears it.
    UpdateExpression: `SET ${assignments.join(', ')}${delivery.s3Sequencer === undefined ? ' REMOVE #s3_sequencer' : ''}`,
    ConditionExpression: condition.ConditionExpression,
    ExpressionAttributeNames: { ...names, ...condition.ExpressionAttributeNames, '#s3_sequencer': 's3_sequencer' },
    ExpressionAttributeValues: { ...values, ...condition.ExpressionAttributeValues },
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

export type EventBodyAttributes = { body: string } | { body_gzip: Uint8Array } | { body_s3: string };

/** The raw body as text when it is small UTF-8, else gzipped; undefined when even that is too large for an item. */
export function inlineEventBody(body: Buffer): EventBodyAttributes | undefined {
  const text = body.toString('utf8');
  if (body.length <= limits.itemInlineMaxBytes && Buffer.from(text, 'utf8').equals(body)) return { body: text };
  const compressed = gzipSync(body);
  return compressed.length <= limits.itemGzipMaxBytes ? { body_gzip: compressed } : undefined;
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
  bodyAttributes: EventBodyAttributes = inlineEventBody(body) ?? { body_gzip: gzipSync(body) },
): PutCommandInput {
  const attributes = Object.fromEntries(Object.entries(event.attributes ?? {}).filter(([, value]) => identifier(value) !== undefined));
  // event_id is the body's hash, which the delivery context already holds.
  return {
    TableName: tableName,
    Item: {
      ...attributes,
      event_id: delivery.bodySha256,
      type: bounded(event.type),
      outcome: event.outcome,
      reason: bounded(event.reason),
      ...optional('user_id', identifier(event.userId)),
      received_at: delivery.receivedAt,
      signature_ts: delivery.signatureTimestamp,
      ordering_ts: delivery.orderingTs,
      ...optional('terra_reference', identifier(delivery.terraReference)),
      ...optional('trace_id', identifier(delivery.traceId)),
      ...bodyAttributes,
    },
    ConditionExpression: 'attribute_not_exists(event_id)',
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
  const fields = { reference, updated_at: delivery.receivedAt, ...set };
  const assignments = Object.entries(fields).map(([name, value]) => {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    return `#${name} = :${name}`;
  });
  names['#received_at'] = 'received_at';
  values[':received_at'] = delivery.receivedAt;
  assignments.push('#received_at = if_not_exists(#received_at, :received_at)');
  const additions = Object.entries(add ?? {}).map(([name, value]) => {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    return `#${name} :${name}`;
  });
  return {
    TableName: tableName,
    Key: { event_id: largeRequestId(reference) },
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
    type: 'large_request',
    outcome: 'tracking',
    reason:
      expectedPayloads === undefined ? 'backfill announced, still processing' : `backfill of ${expectedPayloads} data events announced`,
    ...(expectedPayloads !== undefined && { expected_payloads: expectedPayloads }),
    ...(userId && { user_id: userId }),
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
    { user_id: userId },
    { received_payloads: new Set([delivery.bodySha256.slice(0, 16)]) },
  );
}

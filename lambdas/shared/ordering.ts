import { dataAttributes } from './attributes';

/**
 * Newest wins, stale never: the one home of the ordering rule (docs/architecture.md).
 *
 * Each copy of a record (or of a user's connection state) carries an ordering key, `ordering_ts`
 * in unix ms, chosen by the door it came through:
 * - webhook: `x-terra-ordering-timestamp` (docs/terra.md §2), unless it lies beyond the signature
 *   window (`webhookOrderingTimestamp`), else the signature's `t` × 1000 (`orderingTimestampOf`);
 * - Terra's SQS destination: the message's `SentTimestamp` (`sqsDestinationOrdering`);
 * - Terra's S3 destination: the object-created event's `eventTime` (`s3DestinationOrdering`).
 *
 * A copy is written only when nothing is stored yet or the stored copy's key is strictly older
 * (`newerCopy`, a DynamoDB condition, so concurrent consumers cannot race). Two copies with the
 * same key are told apart by a tie-breaker: the S3 event's `sequencer` for the S3 door, else the
 * arrival time (`received_at`; `updated_at` in terra-users); the later one wins, unless it is the
 * very same body, which changes nothing (`storedCopyRefuses` is the same rule in code).
 *
 * The exceptions, each where it is applied:
 * - Terra may send a newer copy whose `data_enrichment` scores are null: the stored scores are
 *   kept (lambdas/consumer/records.ts, `putKeepingEnrichment`, guarded by `nothingToKeep`);
 * - a deleted activity (`upload_type` 4) marks the stored copy rather than replacing it
 *   (records.ts, `tombstone`);
 * - kept events are not ordered: they are content-addressed, one item per body (items.ts).
 */

/** The ordering key of a delivery: Terra's ordering timestamp, else the signature's, in ms. */
export function orderingTimestampOf(metadata: { orderingTimestamp?: number; signatureTimestamp: number }): number {
  return metadata.orderingTimestamp ?? metadata.signatureTimestamp * 1000;
}

/**
 * `x-terra-ordering-timestamp` is not covered by the signature. A value later than the signature
 * window allows is ignored, so a replayed request with a forged far-future value cannot pin a
 * record against every newer copy.
 */
export function webhookOrderingTimestamp(
  value: string | undefined,
  signatureTimestamp: number,
  toleranceSeconds: number,
): number | undefined {
  if (value === undefined || !/^\d{1,16}$/.test(value.trim())) return undefined;
  const orderingTimestamp = Number(value.trim());
  return orderingTimestamp > (signatureTimestamp + toleranceSeconds) * 1000 ? undefined : orderingTimestamp;
}

/** Terra's SQS destination sends no ordering header: the time SQS took the message, in ms (docs/terra.md §10). */
export const sqsDestinationOrdering = (sentTimestamp: string | number): number => Number(sentTimestamp);

/**
 * Terra's S3 destination: the time S3 took the object. A missing or unparseable `eventTime` is
 * "now" rather than NaN, which DynamoDB would refuse on every retry.
 */
export function s3DestinationOrdering(eventTime: string | undefined, now: number): number {
  const parsed = eventTime === undefined ? Number.NaN : Date.parse(eventTime);
  return Number.isFinite(parsed) ? parsed : now;
}

/**
 * S3 sequencers are hex strings of no fixed length; AWS compares two of them after left-padding
 * the shorter with zeros. DynamoDB compares strings character by character, which is the same
 * comparison only for hex of equal length and case: so every sequencer is stored upper-cased and
 * padded to one width, and `s3_sequencer < :tie` in `newerCopy` means "written earlier".
 */
export const sequencerWidth = 32;

export function paddedSequencer(sequencer: string | undefined): string | undefined {
  if (!sequencer) return undefined;
  return sequencer.toUpperCase().padStart(sequencerWidth, '0');
}

/** What the rule compares of a copy: its key, its tie-breakers, and its body's hash. */
export interface OrderedCopy {
  orderingTs: number;
  /** ISO 8601 arrival time: the tie-breaker of the webhook and SQS doors. */
  receivedAt: string;
  /** S3 door only: the event's sequencer, padded to a fixed width so strings compare in order. */
  s3Sequencer?: string;
  bodySha256: string;
}

export interface Condition {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

// AND binds tighter than OR: no parentheses, which dynalite's parser (the local stack's DynamoDB)
// backtracks over, costing it several times the write itself.
const nothingStored = 'attribute_not_exists(#ordering_ts)';
const storedIsOlder = '#ordering_ts < :ordering_ts';
const tieIsLater = '#ordering_ts = :ordering_ts AND #tie < :tie AND #body_sha256 <> :body_sha256';
// Built where used, not at load: a bundle that uses none of this (the ingest function) leaves it out.
const newerCopyExpression = () => `${nothingStored} OR ${storedIsOlder} OR ${tieIsLater}`;

/** The attribute that breaks a tie of ordering_ts, and this copy's value of it. */
function tieBreaker(copy: OrderedCopy, arrivalAttribute: string): { name: string; value: string } {
  return copy.s3Sequencer !== undefined
    ? { name: dataAttributes.s3Sequencer, value: copy.s3Sequencer }
    : { name: arrivalAttribute, value: copy.receivedAt };
}

/** Write only if `copy` is newer than what is stored (or nothing is). */
export function newerCopy(
  copy: OrderedCopy,
  arrivalAttribute: string = dataAttributes.receivedAt,
): Condition & { ExpressionAttributeValues: Record<string, unknown> } {
  const tie = tieBreaker(copy, arrivalAttribute);
  return {
    ConditionExpression: newerCopyExpression(),
    ExpressionAttributeNames: { '#ordering_ts': dataAttributes.orderingTs, '#tie': tie.name, '#body_sha256': dataAttributes.bodySha256 },
    ExpressionAttributeValues: { ':ordering_ts': copy.orderingTs, ':tie': tie.value, ':body_sha256': copy.bodySha256 },
  };
}

/**
 * `newerCopy`, narrowed for a copy with null scores: an older stored copy is replaced only when
 * it is kept as a map whose `data_enrichment` is null, as Terra mostly sends it, so a merge would
 * carry nothing over. Any other older copy (scores stored, or kept gzipped or in S3, which a
 * condition cannot look into) fails it and is read and merged. A tie is decided as usual.
 */
export function nothingToKeep(copy: OrderedCopy): Condition {
  const newer = newerCopy(copy);
  return {
    ConditionExpression: [nothingStored, `${storedIsOlder} AND attribute_type(#payload.#data_enrichment, :null)`, tieIsLater].join(' OR '),
    ExpressionAttributeNames: {
      ...newer.ExpressionAttributeNames,
      '#payload': dataAttributes.payload,
      '#data_enrichment': 'data_enrichment',
    },
    ExpressionAttributeValues: { ...newer.ExpressionAttributeValues, ':null': 'NULL' },
  };
}

/** Write only if nothing is stored yet. */
export const nothingStoredYet = (): Condition => ({
  ConditionExpression: nothingStored,
  ExpressionAttributeNames: { '#ordering_ts': dataAttributes.orderingTs },
});

/** Write only if the stored copy is still the one that was read (read-merge-write). */
export const stillStored = (stored: { orderingTs: number; bodySha256: string }): Condition => ({
  ConditionExpression: '#ordering_ts = :stored_ordering_ts AND #body_sha256 = :stored_body_sha256',
  ExpressionAttributeNames: { '#ordering_ts': dataAttributes.orderingTs, '#body_sha256': dataAttributes.bodySha256 },
  ExpressionAttributeValues: { ':stored_ordering_ts': stored.orderingTs, ':stored_body_sha256': stored.bodySha256 },
});

/**
 * Whether `newerCopy` refuses `copy` against the stored one: a stale copy, or the very same copy
 * again. (A copy with the same key and another body is left to the condition's tie-breaker.) The
 * stored key only grows, so what it refused it refuses again.
 */
export const storedCopyRefuses = (stored: { orderingTs: number; bodySha256: string }, copy: OrderedCopy): boolean =>
  stored.orderingTs > copy.orderingTs || (stored.orderingTs === copy.orderingTs && stored.bodySha256 === copy.bodySha256);

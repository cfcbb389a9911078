/**
 * The attribute names of the three tables' items, spelt once. The table definitions
 * (definitions.ts) take their keys from here; the consumer's item builders
 * (lambdas/consumer/items.ts), the readers (table-items.ts), the tools and the tests use these
 * names rather than spelling them. Plain data only: it bundles into every function.
 *
 * To store (and index) a new field of a Terra record: add its name here, set it in `recordPut`
 * (lambdas/consumer/items.ts) from `DataRecord` (lambdas/consumer/record-identity.ts reads it
 * from the record), and list it in the index's `nonKeyAttributes` (definitions.ts) to project it.
 */

// The names the table definitions (definitions.ts) build keys and indexes from, as constants of
// their own: a bundle that reads definitions.ts but no item (the ingest function) then leaves the
// rest of this file out, which a property access (`dataAttributes.userId`) would keep in.
export const userIdAttribute = 'user_id';
export const recordIdAttribute = 'record_id';
export const userTypeAttribute = 'user_type';
export const typeAttribute = 'type';
export const providerAttribute = 'provider';
export const referenceIdAttribute = 'reference_id';
export const startTimeAttribute = 'start_time';
export const endTimeAttribute = 'end_time';
export const summaryIdAttribute = 'summary_id';
export const orderingTsAttribute = 'ordering_ts';
export const receivedAtAttribute = 'received_at';
export const eventIdAttribute = 'event_id';
export const outcomeAttribute = 'outcome';
export const reasonAttribute = 'reason';

/** terra-data: one item per Terra record, `user_id` + `record_id` (`<type>#<identifier>`). */
export const dataAttributes = {
  userId: userIdAttribute,
  /** `<type>#<identifier>`, docs/terra.md §4. */
  recordId: recordIdAttribute,
  /** `<user_id>#<type>`: the partition key of the index that lists a user's records of one type. */
  userType: userTypeAttribute,
  type: typeAttribute,
  provider: providerAttribute,
  referenceId: referenceIdAttribute,
  startTime: startTimeAttribute,
  endTime: endTimeAttribute,
  summaryId: summaryIdAttribute,
  /** The ordering key of the stored copy, unix ms (lambdas/shared/ordering.ts). */
  orderingTs: orderingTsAttribute,
  receivedAt: receivedAtAttribute,
  /** SHA-256 of the delivery's body: tells a repeat from another copy with the same ordering_ts. */
  bodySha256: 'body_sha256',
  terraReference: 'terra_reference',
  /** S3 door only: the object-created event's sequencer, the tie-breaker of that door. */
  s3Sequencer: 's3_sequencer',
  /** An activity Terra deleted (`upload_type` 4): the last full copy stays readable. */
  deleted: 'deleted',
  deletedAt: 'deleted_at',
  /** An activity's raw FIT file in Terra's S3 destination bucket. */
  fitS3: 'fit_s3',
  /** The record, one of three ways: a map, gzipped JSON, or JSON in S3 (`s3://…`). */
  payload: 'payload',
  payloadGzip: 'payload_gzip',
  payloadS3: 'payload_s3',
} as const;

/** terra-users: one item per Terra user, the connection's latest known state. */
export const userAttributes = {
  userId: userIdAttribute,
  provider: providerAttribute,
  /** The app's own id for the user (Terra's `reference_id`): the key of the `reference-id` index. */
  referenceId: referenceIdAttribute,
  status: 'status',
  active: 'active',
  scopes: 'scopes',
  scopesAdded: 'scopes_added',
  scopesRemoved: 'scopes_removed',
  /** user_reauth: the user this one replaced, and on the old user, the one that replaced it. */
  replaces: 'replaces',
  replacedBy: 'replaced_by',
  lastEventType: 'last_event_type',
  /** When the delivery that last changed the user arrived: the tie-breaker of the users table. */
  updatedAt: 'updated_at',
  bodySha256: 'body_sha256',
  orderingTs: orderingTsAttribute,
  s3Sequencer: 's3_sequencer',
} as const;

/** terra-events: every authenticated delivery kept as an event, and the trackers of backfills. */
export const eventAttributes = {
  /** A kept event's body hash; a tracker's `large_request#<terra-reference>`. */
  eventId: eventIdAttribute,
  type: typeAttribute,
  outcome: outcomeAttribute,
  reason: reasonAttribute,
  userId: userIdAttribute,
  receivedAt: receivedAtAttribute,
  signatureTs: 'signature_ts',
  orderingTs: orderingTsAttribute,
  terraReference: 'terra_reference',
  traceId: 'trace_id',
  /** The raw body, one of three ways: UTF-8 text, gzipped, or in S3 (`s3://…`). */
  body: 'body',
  bodyGzip: 'body_gzip',
  bodyS3: 'body_s3',
  /** Backfill trackers: the terra-reference, when last touched, and the payloads announced and seen. */
  reference: 'reference',
  updatedAt: 'updated_at',
  expectedPayloads: 'expected_payloads',
  receivedPayloads: 'received_payloads',
  /** A lab report's identifiers (report-scoped events have no Terra user). */
  sessionId: 'session_id',
  referenceId: referenceIdAttribute,
  /** Set by `npm run reprocess` on a kept event it ran again: the outcome it had, and when. */
  previousOutcome: 'previous_outcome',
  reprocessedAt: 'reprocessed_at',
} as const;

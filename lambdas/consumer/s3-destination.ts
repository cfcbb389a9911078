import { destinations, limits } from '../shared/definitions';
import type { QueuedDelivery } from '../shared/delivery';
import { paddedSequencer, s3DestinationOrdering } from '../shared/ordering';
import { s3Url } from '../shared/s3-url';
import type { S3ObjectCreated } from './doors';
import { type FitLink, linkFitBeside, linkFitFile } from './fit-files';
import { deliveryContext } from './delivery-context';
import { type ConsumerDependencies, type DeliveryOutcome, keep, processDelivery } from './process';

/**
 * Terra's S3 destination (docs/terra.md §10): Terra writes each event whole into the bucket,
 * S3 announces the object, and the consumer reads it and processes it like a pushed event. No
 * ordering header exists there, so the ordering key comes from S3 (lambdas/shared/ordering.ts).
 */

/** What an S3 object became; `fit` says what happened to a raw FIT file beside an activity. */
export interface S3ObjectOutcome extends DeliveryOutcome {
  fit?: FitLink;
}

/** The delivery an object stands for: its body stays in S3 until the consumer reads it. */
export function s3Delivery(object: S3ObjectCreated, now: number): QueuedDelivery {
  const orderingTimestamp = s3DestinationOrdering(object.eventTime, now);
  const s3Sequencer = paddedSequencer(object.sequencer);
  return {
    bodyS3: s3Url(object.bucket, object.key),
    orderingTimestamp,
    signatureTimestamp: Math.floor(orderingTimestamp / 1000),
    receivedAt: new Date(now).toISOString(),
    ...(s3Sequencer !== undefined && { s3Sequencer }),
    ...(object.versionId !== undefined && { bodyS3VersionId: object.versionId }),
  };
}

/** `<api version>/<data type>/…` or `<event type>/…`: the type Terra filed the object under. */
export function typeOfKey(key: string): string {
  const parts = key.split('/');
  if (parts.length >= 3 && /^\d{4}-\d{2}-\d{2}$/.test(parts[0])) return parts[1];
  if (parts.length >= 2 && parts[0] !== '') return parts[0];
  return 's3_object';
}

/**
 * An object larger than the consumer reads whole is not read; a description of it is kept in
 * terra-events as `too_large` (an outcome `npm run reprocess` leaves alone: the body kept is the
 * description, not the event), with the key, the size and the limit in the reason, so it is
 * never silently dropped. The object itself stays in the bucket until its lifecycle expiry.
 */
async function keepOversized(object: S3ObjectCreated, deps: ConsumerDependencies, now: number): Promise<S3ObjectOutcome> {
  const url = s3Url(object.bucket, object.key);
  const description = Buffer.from(
    JSON.stringify({
      bucket: object.bucket,
      key: object.key,
      version_id: object.versionId,
      size: object.size,
      event_time: object.eventTime,
      sequencer: object.sequencer,
    }),
  );
  const delivery = s3Delivery(object, now);
  // Content-addressed like every kept event: a repeated notification keeps one item.
  const context = deliveryContext(delivery, description);
  const reason =
    `S3 destination object ${url} is ${object.size} bytes, over the ${limits.pingMaxBytes}-byte limit the consumer reads whole; ` +
    `not read, left in the bucket (expires after ${destinations.bucket.retentionDays} days)`;
  return keep(deps, { type: typeOfKey(object.key), outcome: 'too_large', reason }, description, context);
}

/**
 * One object Terra wrote: a FIT file is linked to the activity beside it; an event is read (the
 * version S3 announced), archived, routed and stored by the same rules as a pushed one
 * (`processDelivery`). Throws only on what a retry can fix.
 */
export async function processS3Object(object: S3ObjectCreated, deps: ConsumerDependencies, attempt: number): Promise<S3ObjectOutcome> {
  if (!deps.s3) throw new Error(`S3 destination object ${object.bucket}/${object.key}: the consumer has no S3 client`);
  const now = (deps.now ?? Date.now)();

  if (object.key.endsWith(destinations.bucket.fitSuffix)) {
    const fit = await linkFitFile(deps, object.bucket, object.key);
    // Only links count as written; an activity not stored yet is not a stale copy, so not `skipped`.
    return { route: 'data', type: 'activity', written: fit.linked, skipped: 0, fit };
  }
  if (object.size !== undefined && object.size > limits.pingMaxBytes) return keepOversized(object, deps, now);

  // The record ids are for linking only, not for the log line the outcome becomes.
  const { stored, ...outcome }: S3ObjectOutcome = await processDelivery(s3Delivery(object, now), deps, attempt);
  // A copy of an activity from any door keeps its link (records.ts); linking here covers a FIT
  // file that arrived before this JSON.
  if (stored && outcome.type === 'activity') {
    const fit = await linkFitBeside(deps, object, stored);
    if (fit) outcome.fit = fit;
  }
  return outcome;
}

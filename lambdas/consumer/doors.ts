import type { SQSRecord } from 'aws-lambda';
import { messageAttributes } from '../shared/definitions';
import { fromSqsRecord, type QueuedDelivery } from '../shared/delivery';

/**
 * Terra reaches the consumer through three doors (docs/terra.md §10), all as SQS messages:
 * - `webhook`: the ingest function's messages, which always carry the delivery metadata;
 * - `sqs_destination`: Terra's SQS destination, a raw Terra event (usually an `s3_payload`);
 * - `s3_destination`: S3 ObjectCreated notifications for Terra's S3 destination bucket.
 * Every door ends in the same consumer rules.
 */

/** One object Terra wrote into its S3 destination bucket. */
export interface S3ObjectCreated {
  bucket: string;
  /** Decoded: S3 notifications URL-encode keys, with `+` for spaces. */
  key: string;
  size?: number;
  /** ISO 8601 with ms: when S3 finished the write. */
  eventTime: string;
  /** Hex; for one key, a greater value is a later write. */
  sequencer?: string;
  /**
   * The version written, in a versioned bucket: the one to read, since a later write of the same
   * key (another event can share it) may be the latest by the time this one is read. Absent
   * locally (fauxqs keeps no versions) and in an unversioned bucket.
   */
  versionId?: string;
}

export type Door =
  | { door: 'webhook' | 'sqs_destination'; delivery: QueuedDelivery }
  | { door: 's3_destination'; objects: S3ObjectCreated[] }
  /** S3's `s3:TestEvent`, sent once when a notification is configured: not Terra's. */
  | { door: 's3_test_event' };

interface S3NotificationRecord {
  eventSource?: string;
  eventName?: string;
  eventTime?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number; sequencer?: string; versionId?: string | null } };
}

function s3Notification(body: string): Door | undefined {
  // Cheap test first: a Terra event never starts like an S3 notification.
  if (!body.includes('"Records"') && !body.includes('s3:TestEvent')) return undefined;
  let parsed: { Records?: S3NotificationRecord[]; Event?: string };
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (parsed.Event === 's3:TestEvent') return { door: 's3_test_event' };
  const records = Array.isArray(parsed.Records) ? parsed.Records : [];
  if (records.length === 0 || !records.every((record) => record.eventSource === 'aws:s3')) return undefined;
  const objects = records
    .filter((record) => record.eventName?.startsWith('ObjectCreated') && record.s3?.bucket?.name && record.s3.object?.key)
    .map(
      (record): S3ObjectCreated => ({
        bucket: record.s3!.bucket!.name!,
        key: decodeURIComponent(record.s3!.object!.key!.replace(/\+/g, ' ')),
        size: record.s3!.object!.size,
        eventTime: record.eventTime ?? new Date().toISOString(),
        sequencer: record.s3!.object!.sequencer,
        // S3 writes null here for an unversioned bucket.
        ...(record.s3!.object!.versionId && { versionId: record.s3!.object!.versionId }),
      }),
    );
  return { door: 's3_destination', objects };
}

export function doorOf(record: SQSRecord): Door {
  if (record.messageAttributes?.[messageAttributes.signatureTimestamp]) {
    return { door: 'webhook', delivery: fromSqsRecord(record) };
  }
  return s3Notification(record.body) ?? { door: 'sqs_destination', delivery: fromSqsRecord(record) };
}

import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { payloadBucket } from '../shared/definitions';
import type { DeliveryMetadata, QueuedDelivery } from '../shared/delivery';
import { putObject } from '../shared/s3';
import { parseS3Url, s3Url } from '../shared/s3-url';

/**
 * The raw archive of every authenticated delivery, for replay. Keys sort by arrival and carry
 * what replay filters on: `archive/YYYY/MM/DD/HH/<received>_<type>_<user_id>_<sha256 prefix>`.
 * The key is a function of the delivery, so archiving the same message twice writes one object.
 */

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
// S3 keys stop at 1,024 bytes, and the type and user id come from the body: Terra's are short; a
// longer one keeps its start and a hash of the whole, so two long ones still differ.
const keyPartMaxLength = 64;
const bounded = (safe: string, original: string) =>
  safe.length <= keyPartMaxLength ? safe : `${safe.slice(0, keyPartMaxLength - 17)}-${sha256(original).slice(0, 16)}`;
// Types may hold `_` (large_request_sending); user ids may not, so the key parses unambiguously.
const safeType = (value: string) => bounded(value.replace(/[^A-Za-z0-9._-]/g, '-'), value);
const safeUser = (value: string) => bounded(value.replace(/[^A-Za-z0-9.-]/g, '-'), value);

export function archiveKey(delivery: DeliveryMetadata, bodySha256: string, type: string, userId?: string): string {
  const received = delivery.receivedAt; // 2026-11-22T02:19:55.164Z
  const hour = `${received.slice(0, 4)}/${received.slice(5, 7)}/${received.slice(8, 10)}/${received.slice(11, 13)}`;
  const stamp = received.replace(/[-:.]/g, '');
  return `${payloadBucket.prefixes.archive}${hour}/${stamp}_${safeType(type)}_${safeUser(userId ?? 'none')}_${bodySha256.slice(0, 16)}`;
}

/** Reads a key back: when the delivery arrived, its type and its user. */
export function parseArchiveKey(key: string): { receivedAt: Date; type: string; userId?: string } | undefined {
  const match = /\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z_(.+)_([^_]+)_[0-9a-f]{16}$/.exec(key);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, ms, type, user] = match;
  const receivedAt = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${ms}Z`);
  if (Number.isNaN(receivedAt.getTime())) return undefined;
  return { receivedAt, type, userId: user === 'none' ? undefined : user };
}

/** Whether a body is already in this payload bucket's archive (a replayed delivery points there). */
export function isArchived(url: string | undefined, bucket: string | undefined): boolean {
  if (url === undefined || bucket === undefined) return false;
  const { bucket: urlBucket, key } = parseS3Url(url);
  return urlBucket === bucket && key.startsWith(payloadBucket.prefixes.archive);
}

/** Longest header-borne value kept in an archived object's metadata (S3 allows 2 KB in all). */
export const archiveMetadataValueMaxLength = 512;

/** The delivery metadata travels with the object, so a replay orders copies as the original did. */
export function archiveMetadata(delivery: DeliveryMetadata): Record<string, string> {
  const metadata: Record<string, string> = {
    'signature-timestamp': String(delivery.signatureTimestamp),
    'received-at': delivery.receivedAt,
  };
  if (delivery.orderingTimestamp !== undefined) metadata['ordering-timestamp'] = String(delivery.orderingTimestamp);
  // Both come from headers the signature does not cover: a replayed request can make them as
  // long as API Gateway allows, and S3 refuses more than 2 KB of metadata. Terra's are a UUID or
  // `<uuid>:chunk:<n>`; a longer one is left out rather than failing the delivery for good.
  const terraReference = delivery.terraReference && encodeURIComponent(delivery.terraReference);
  if (terraReference && terraReference.length <= archiveMetadataValueMaxLength) metadata['terra-reference'] = terraReference;
  const traceId = delivery.traceId && encodeURIComponent(delivery.traceId);
  if (traceId && traceId.length <= archiveMetadataValueMaxLength) metadata['trace-id'] = traceId;
  return metadata;
}

export function metadataFromArchive(metadata: Record<string, string>): DeliveryMetadata {
  return {
    signatureTimestamp: Number(metadata['signature-timestamp']),
    receivedAt: metadata['received-at'],
    orderingTimestamp: metadata['ordering-timestamp'] ? Number(metadata['ordering-timestamp']) : undefined,
    terraReference: metadata['terra-reference'] ? decodeURIComponent(metadata['terra-reference']) : undefined,
    traceId: metadata['trace-id'] ? decodeURIComponent(metadata['trace-id']) : undefined,
  };
}

/**
 * Where one user's index markers live: `archive-index/<user_id>/`. The id is URI-encoded (a
 * Terra id is a UUID; encoding keeps any `/` out of the prefix, so one user's listing never
 * reaches into another's).
 */
export function archiveIndexPrefix(userId: string): string {
  const encoded = encodeURIComponent(userId);
  // An id too long to sit in a key goes by its hash, after a `#`, which no encoded id holds.
  return `${payloadBucket.prefixes.archiveIndex}${encoded.length <= 256 ? encoded : `#${sha256(userId)}`}/`;
}

/**
 * The zero-byte markers that let erasing a user (lambdas/eraser) list their share rather than the
 * whole archive: `archive-index/<user_id>/<archive key without archive/>` for the archived copy,
 * and `archive-index/<user_id>/deliveries/…` for a claim-checked body in this bucket, whose key
 * does not name the user.
 */
export function archiveIndexKeys(bucket: string, archiveKey: string, userId: string, claimCheck?: string): string[] {
  const prefix = archiveIndexPrefix(userId);
  const keys = [`${prefix}${archiveKey.slice(payloadBucket.prefixes.archive.length)}`];
  if (claimCheck) {
    const { bucket: claimBucket, key } = parseS3Url(claimCheck);
    if (claimBucket === bucket && key.startsWith(payloadBucket.prefixes.deliveries)) keys.push(`${prefix}${key}`);
  }
  return keys;
}

export async function archiveDelivery(
  s3: S3Client,
  bucket: string,
  body: Buffer,
  // The consumer's delivery context is the queued message spread out: `bodyS3` is there when the
  // body came by claim check.
  delivery: DeliveryMetadata & Pick<QueuedDelivery, 'bodyS3'>,
  bodySha256: string,
  type: string,
  userId?: string,
): Promise<string> {
  const key = archiveKey(delivery, bodySha256, type, userId);
  // Markers first: an interrupted write leaves at worst a marker without its object (harmless to
  // an erase), never an object no marker leads to. A retry writes the same keys again.
  if (userId) {
    await Promise.all(
      archiveIndexKeys(bucket, key, userId, delivery.bodyS3).map((marker) => putObject(s3, s3Url(bucket, marker), Buffer.alloc(0))),
    );
  }
  const url = s3Url(bucket, key);
  await putObject(s3, url, body, archiveMetadata(delivery));
  return url;
}

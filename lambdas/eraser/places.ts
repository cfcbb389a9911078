import { payloadBucket } from '../shared/definitions';
import { parseS3Url } from '../shared/s3-url';
import type { dataItemKey } from '../shared/table-items';

/**
 * Where one user's data can be, and how the erase reports it: the three tables, then the payload
 * bucket by prefix, then any other bucket an item points into (the S3 destination's FIT files).
 * Pure, so the CLI and a later "erase on deauth" report the same places.
 */

export type TablePlace = 'terra-data' | 'terra-users' | 'terra-events';

/** One user's footprint: table keys and S3 objects, found but not yet deleted. */
export interface UserFootprint {
  userId: string;
  dataKeys: ReturnType<typeof dataItemKey>[];
  /** The user item exists. */
  user: boolean;
  eventIds: string[];
  /** terra-events items read to find the user's (a Scan reads them all). */
  eventsScanned: number;
  /** `s3://bucket/key` of every object to delete except the index markers, without repeats. */
  objects: string[];
  /** The user's `archive-index/<user_id>/…` markers, deleted last: they lead to the archive. */
  markers: string[];
}

export type PlaceCounts = [place: string, count: number][];

/** `s3 records/` for a payload bucket key, `s3://<bucket>` for anywhere else. */
export function placeOf(url: string, bucket: string): string {
  const { bucket: objectBucket, key } = parseS3Url(url);
  if (objectBucket !== bucket) return `s3://${objectBucket}`;
  const known = Object.values(payloadBucket.prefixes).find((prefix) => key.startsWith(prefix));
  return `s3 ${known ?? `${key.split('/')[0]}/`}`;
}

/** Counts per place, every table and payload prefix listed even at zero, so "nothing left" reads as such. */
export function countPlaces(footprint: UserFootprint, bucket: string): PlaceCounts {
  const counts = new Map<string, number>([
    ['terra-data', footprint.dataKeys.length],
    ['terra-users', footprint.user ? 1 : 0],
    ['terra-events', footprint.eventIds.length],
  ]);
  for (const prefix of Object.values(payloadBucket.prefixes)) counts.set(`s3 ${prefix}`, 0);
  for (const url of [...footprint.objects, ...footprint.markers]) {
    const place = placeOf(url, bucket);
    counts.set(place, (counts.get(place) ?? 0) + 1);
  }
  return [...counts];
}

export const totalOf = (counts: PlaceCounts) => counts.reduce((sum, [, count]) => sum + count, 0);

/**
 * What a marker leads to: `archive-index/<user>/deliveries/…` names a claim-checked body, any
 * other `archive-index/<user>/<rest>` the archived copy `archive/<rest>` (lambdas/consumer/archive.ts).
 */
export function markedObject(markerKey: string, indexPrefix: string): string | undefined {
  if (!markerKey.startsWith(indexPrefix)) return undefined;
  const rest = markerKey.slice(indexPrefix.length);
  if (rest === '') return undefined;
  return rest.startsWith(payloadBucket.prefixes.deliveries) ? rest : `${payloadBucket.prefixes.archive}${rest}`;
}

/** Groups URLs by bucket, in chunks a DeleteObjects call takes (1,000 keys). */
export function deleteBatches(urls: readonly string[], size = 1000): { bucket: string; keys: string[] }[] {
  const byBucket = new Map<string, string[]>();
  for (const url of new Set(urls)) {
    const { bucket, key } = parseS3Url(url);
    const keys = byBucket.get(bucket) ?? [];
    if (keys.length === 0) byBucket.set(bucket, keys);
    keys.push(key);
  }
  const batches: { bucket: string; keys: string[] }[] = [];
  for (const [bucket, keys] of byBucket) {
    for (let start = 0; start < keys.length; start += size) batches.push({ bucket, keys: keys.slice(start, start + size) });
  }
  return batches;
}

/** The pointers items hold (`payload_s3`, `body_s3`, `fit_s3`) that name an object. */
export function pointersOf(item: Record<string, unknown>, attributes: readonly string[]): string[] {
  return attributes.map((name) => item[name]).filter((value): value is string => typeof value === 'string' && value.startsWith('s3://'));
}

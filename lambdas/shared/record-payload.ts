import { gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { getObject } from './s3';

/**
 * Reads a stored Terra record whichever way it was kept: a map in `payload`, gzipped JSON in
 * `payload_gzip` (too large for a map), or JSON in S3 at `payload_s3` (too large even gzipped).
 * The consumer, `inspect`, `replay` and the tests all read through this one helper.
 */
export async function readRecord(item: Record<string, unknown>, s3?: S3Client): Promise<unknown> {
  if (item.payload !== undefined) return item.payload;
  if (item.payload_gzip instanceof Uint8Array) return JSON.parse(gunzipSync(item.payload_gzip).toString('utf8'));
  if (typeof item.payload_s3 === 'string') {
    if (!s3) throw new Error(`record ${String(item.record_id)} is kept in S3 (${item.payload_s3}); an S3 client is needed to read it`);
    return JSON.parse((await getObject(s3, item.payload_s3)).body.toString('utf8'));
  }
  throw new Error(`item ${String(item.user_id)}/${String(item.record_id)} holds no payload`);
}

/** A kept event's raw body, whichever way it was kept: `body` text, gzipped `body_gzip`, or S3 `body_s3`. */
export async function eventBody(item: Record<string, unknown>, s3?: S3Client): Promise<Buffer> {
  if (typeof item.body === 'string') return Buffer.from(item.body, 'utf8');
  if (item.body_gzip instanceof Uint8Array) return gunzipSync(item.body_gzip);
  if (typeof item.body_s3 === 'string') {
    if (!s3) throw new Error(`event ${String(item.event_id)} keeps its body in S3 (${item.body_s3}); an S3 client is needed to read it`);
    return (await getObject(s3, item.body_s3)).body;
  }
  throw new Error(`event ${String(item.event_id)} holds no body`);
}

/** How a record was kept, for people reading `inspect`'s table. */
export function payloadStorage(item: Record<string, unknown>): string {
  if (item.payload !== undefined) return 'map';
  if (item.payload_gzip instanceof Uint8Array) return `gzip ${(item.payload_gzip.length / 1024).toFixed(1)} KB`;
  if (typeof item.payload_s3 === 'string') return 's3';
  return 'missing';
}

import { gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { dataAttributes as data, eventAttributes as event } from './attributes';
import { getObject } from './s3';
import { eventBodyForm, recordForm } from './table-items';

/**
 * Reads a stored Terra record whichever way it was kept: a map in `payload`, gzipped JSON in
 * `payload_gzip` (too large for a map), or JSON in S3 at `payload_s3` (too large even gzipped).
 * The consumer, `inspect`, `replay` and the tests all read through this one helper. Which way
 * an item keeps it is `recordForm`'s to say (table-items.ts).
 */
export async function readRecord(item: Record<string, unknown>, s3?: S3Client): Promise<unknown> {
  switch (recordForm(item)) {
    case 'map':
      return item[data.payload];
    case 'gzip':
      return JSON.parse(gunzipSync(item[data.payloadGzip] as Uint8Array).toString('utf8'));
    case 's3': {
      const url = item[data.payloadS3] as string;
      if (!s3) throw new Error(`record ${String(item[data.recordId])} is kept in S3 (${url}); an S3 client is needed to read it`);
      return JSON.parse((await getObject(s3, url)).body.toString('utf8'));
    }
    default:
      throw new Error(`item ${String(item[data.userId])}/${String(item[data.recordId])} holds no payload`);
  }
}

/** A kept event's raw body, whichever way it was kept: `body` text, gzipped `body_gzip`, or S3 `body_s3`. */
export async function eventBody(item: Record<string, unknown>, s3?: S3Client): Promise<Buffer> {
  switch (eventBodyForm(item)) {
    case 'text':
      return Buffer.from(item[event.body] as string, 'utf8');
    case 'gzip':
      return gunzipSync(item[event.bodyGzip] as Uint8Array);
    case 's3': {
      const url = item[event.bodyS3] as string;
      if (!s3) throw new Error(`event ${String(item[event.eventId])} keeps its body in S3 (${url}); an S3 client is needed to read it`);
      return (await getObject(s3, url)).body;
    }
    default:
      throw new Error(`event ${String(item[event.eventId])} holds no body`);
  }
}

/** How a record was kept, for people reading `inspect`'s table. */
export function payloadStorage(item: Record<string, unknown>): string {
  const form = recordForm(item);
  return form === 'gzip' ? `gzip ${((item[data.payloadGzip] as Uint8Array).length / 1024).toFixed(1)} KB` : form;
}

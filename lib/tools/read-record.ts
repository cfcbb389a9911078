import { gunzipSync } from 'node:zlib';

/**
 * Returns a stored Terra record whichever way it was kept: as a map in `payload`, or gzipped
 * JSON in `payload_gzip` when it was too large for one item. The same for kept events' bodies.
 */
export function recordPayload(item: Record<string, unknown>): unknown {
  if (item.payload !== undefined) return item.payload;
  if (item.payload_gzip instanceof Uint8Array) return JSON.parse(gunzipSync(item.payload_gzip).toString('utf8'));
  throw new Error(`item ${String(item.user_id)}/${String(item.record_id)} holds no payload`);
}

export function eventBody(item: Record<string, unknown>): Buffer {
  if (typeof item.body === 'string') return Buffer.from(item.body, 'utf8');
  if (item.body_gzip instanceof Uint8Array) return gunzipSync(item.body_gzip);
  throw new Error(`event ${String(item.event_id)} holds no body`);
}

/** How a record was kept, for people reading `inspect`'s table. */
export function payloadStorage(item: Record<string, unknown>): string {
  if (item.payload !== undefined) return 'map';
  if (item.payload_gzip instanceof Uint8Array) return `gzip ${(item.payload_gzip.length / 1024).toFixed(1)} KB`;
  return 'missing';
}

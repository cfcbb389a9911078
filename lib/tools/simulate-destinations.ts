import type { S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { putObject } from '../../lambdas/shared/s3';
import { s3Url } from '../../lambdas/shared/s3-url';
import { ensureBucket } from '../local/provision';
import { type Delivery, TERRA_API_VERSION } from './fixtures';

/**
 * Terra's side of its two AWS destinations (docs/terra.md §10), played against the local
 * stack: no signature, no headers; what orders copies is what AWS records (SentTimestamp, the
 * S3 event's time and sequencer).
 */

/** Terra's own bucket behind Ping-mode URLs, played locally. Never the destination bucket. */
export const pingStandInBucket = 'terra-ping-stand-in';

/** How long Terra's pre-signed Ping-mode URLs live (docs/terra.md §10). */
const pingExpiresInSeconds = 600;

export interface DestinationTarget {
  s3: S3Client;
  sqs: SQSClient;
  /** The SQS/S3 server as a Ping-mode URL reaches it: objects are served path-style, unsigned. */
  endpoint: string;
  /** Terra's SQS destination. */
  queueUrl: string;
  /** Terra's S3 destination. */
  bucket: string;
  pingBucket?: string;
}

/** One event sent through a destination, for the report. */
export interface DestinationResult {
  name: string;
  type: string;
  bytes: number;
  ok: boolean;
  latencyMs: number;
  /** Where it went: the object written, or the queue and the object the message points at. */
  where: string;
  detail?: string;
}

export interface DestinationDeps {
  now: () => number;
  uuid: () => string;
  write: (line: string) => void;
}

interface EventShape {
  type: string;
  version?: unknown;
  user?: { user_id?: unknown };
  data?: { metadata?: { start_time?: unknown } }[];
}

/**
 * Terra's object key: `<api version>/<data type>/<user_id>-<start_time>.json` for a data event
 * (the first record's start), `<event type>/<user_id>-<timestamp>.json` for anything else.
 */
export function s3DestinationKey(body: Delivery['body'], now: number): string {
  const event = body as EventShape;
  const userId = typeof event.user?.user_id === 'string' ? event.user.user_id : 'none';
  const startTime = Array.isArray(event.data) ? event.data[0]?.metadata?.start_time : undefined;
  if (typeof startTime === 'string') {
    const version = typeof event.version === 'string' ? event.version : TERRA_API_VERSION;
    return `${version}/${event.type}/${userId}-${startTime}.json`;
  }
  return `${event.type}/${userId}-${new Date(now).toISOString()}.json`;
}

const describe = (error: unknown) => {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error instanceof Error ? error.message || error.name : String(error)}${cause}`;
};

async function sendEach(
  deliveries: readonly Delivery[],
  deps: DestinationDeps,
  send: (delivery: Delivery, raw: string) => Promise<string>,
): Promise<DestinationResult[]> {
  const results: DestinationResult[] = [];
  // In order: a user's auth before their data, the deauth last.
  for (const delivery of deliveries) {
    const raw = JSON.stringify(delivery.body);
    const started = deps.now();
    const result: DestinationResult = {
      name: delivery.name,
      type: delivery.body.type,
      bytes: Buffer.byteLength(raw),
      ok: false,
      latencyMs: 0,
      where: '',
    };
    try {
      result.where = await send(delivery, raw);
      result.ok = true;
    } catch (error) {
      result.detail = describe(error);
    }
    result.latencyMs = deps.now() - started;
    deps.write(formatDestinationResult(result));
    results.push(result);
  }
  return results;
}

/** The S3 destination: each event written whole under Terra's key (multipart when large). */
export function sendThroughS3(
  deliveries: readonly Delivery[],
  target: DestinationTarget,
  deps: DestinationDeps,
): Promise<DestinationResult[]> {
  return sendEach(deliveries, deps, async (delivery, raw) => {
    const url = s3Url(target.bucket, s3DestinationKey(delivery.body, deps.now()));
    await putObject(target.s3, url, raw);
    return url;
  });
}

/**
 * The SQS destination, Ping mode: each event waits in Terra's (stand-in) bucket, and the message
 * carries only a URL to it, as Terra's does.
 */
export async function sendThroughSqs(
  deliveries: readonly Delivery[],
  target: DestinationTarget,
  deps: DestinationDeps,
): Promise<DestinationResult[]> {
  const pingBucket = target.pingBucket ?? pingStandInBucket;
  await ensureBucket(target.s3, pingBucket);
  const queueName = target.queueUrl.slice(target.queueUrl.lastIndexOf('/') + 1);
  return sendEach(deliveries, deps, async (delivery, raw) => {
    const key = `payloads/${delivery.body.type}/${deps.uuid()}.json`;
    await putObject(target.s3, s3Url(pingBucket, key), raw);
    const message = {
      status: 'success',
      type: 's3_payload',
      url: `${target.endpoint}/${pingBucket}/${key}`,
      expires_in: pingExpiresInSeconds,
    };
    await target.sqs.send(new SendMessageCommand({ QueueUrl: target.queueUrl, MessageBody: JSON.stringify(message) }));
    return `queue ${queueName} ← s3_payload of ${s3Url(pingBucket, key)}`;
  });
}

export function formatDestinationResult(result: DestinationResult): string {
  const line = [
    result.ok ? '  ok  ' : '  FAIL',
    result.name.padEnd(24),
    result.type.padEnd(10),
    `${(result.bytes / 1024).toFixed(1)} KB`.padStart(10),
    `${result.latencyMs} ms`.padStart(9),
  ].join(' ');
  return result.ok ? `${line}  → ${result.where}` : `${line}  ${result.detail}`;
}

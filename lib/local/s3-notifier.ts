import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/**
 * The local stand-in for S3 event notifications, which fauxqs does not have: polls a bucket and
 * sends, for each object written since the last look, the ObjectCreated notification S3 would
 * send to a queue (event version 2.1, one record per message).
 *
 * Polling rather than fauxqs' message spy: the spy must be switched on where the server starts,
 * keeps a bounded buffer (a burst of writes would evict events before they are read), is lost when
 * the server restarts (the outage tests restart it), and carries neither size nor ETag. A listing
 * sees every write, whoever made it, including those made while the stack was down.
 *
 * What was announced (key → ETag and time) is kept in `statePath`, so a restart announces only
 * what is new. Announcing an object twice is harmless anyway: the consumer is idempotent.
 *
 * fauxqs keeps no object versions, so these notifications carry no `versionId` and the consumer
 * reads the key's latest write. In AWS the bucket is versioned and each notification names the
 * version it announces: locally, two events written to one key before the first is announced
 * (or read) reach the consumer as the second only.
 */

export interface S3NotifierOptions {
  s3: S3Client;
  sqs: SQSClient;
  bucket: string;
  /** The queue S3 would notify. */
  queueUrl: string;
  region: string;
  /** A JSON file; undefined keeps what was announced in memory only. */
  statePath?: string;
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

export interface RunningS3Notifier {
  /** Lists the bucket and announces what is new now, without waiting for the next poll. */
  poll(): Promise<number>;
  /** Stops polling and waits for a poll in flight to finish. */
  stop(): Promise<void>;
}

interface AnnouncedState {
  /** The last sequencer handed out, hex. */
  sequencer: string;
  /** key → `<ETag>|<LastModified ms>` of the version announced. */
  objects: Record<string, string>;
}

export interface ListedObject {
  key: string;
  size: number;
  /** Without the quotes S3 puts around it in listings. */
  eTag: string;
  lastModified: Date;
}

/** S3 writes keys in notifications URL-encoded, form style: `+` for a space, `/` kept. */
export function notificationKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

/** The SQS message body S3 sends for one new object. */
export function objectCreatedNotification(bucket: string, object: ListedObject, sequencer: string, region: string): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: region,
        eventTime: object.lastModified.toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'local' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': sequencer, 'x-amz-id-2': 'local' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'terra-ingest-local',
          bucket: { name: bucket, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${bucket}` },
          object: { key: notificationKey(object.key), size: object.size, eTag: object.eTag, sequencer },
        },
      },
    ],
  });
}

/**
 * Like S3's, later writes get greater sequencers: the clock (ms, shifted to leave room for many
 * writes per ms), or one more than the last when the clock has not moved on (or went back).
 */
export function nextSequencer(last: bigint, now: number): bigint {
  const fromClock = BigInt(now) << 16n;
  return fromClock > last ? fromClock : last + 1n;
}

const formatSequencer = (value: bigint) => value.toString(16).toUpperCase().padStart(18, '0');

function loadState(path: string | undefined): AnnouncedState {
  if (path) {
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as AnnouncedState;
      if (typeof parsed.sequencer === 'string' && parsed.objects && typeof parsed.objects === 'object') return parsed;
    } catch {
      // No state yet (or unreadable): everything in the bucket is announced once more.
    }
  }
  return { sequencer: '0', objects: {} };
}

function saveState(path: string, state: AnnouncedState): void {
  mkdirSync(dirname(path), { recursive: true });
  // Written aside and renamed, so a crash mid-write leaves the previous state, not half a file.
  writeFileSync(`${path}.tmp`, JSON.stringify(state));
  renameSync(`${path}.tmp`, path);
}

const versionOf = (object: ListedObject) => `${object.eTag}|${object.lastModified.getTime()}`;

export function startS3Notifier(options: S3NotifierOptions): RunningS3Notifier {
  const { s3, sqs, bucket, queueUrl, region, statePath } = options;
  const state = loadState(statePath);
  let running = true;
  let inFlight: Promise<number> | undefined;
  let wake: (() => void) | undefined;
  let failing = false;

  const listBucket = async (): Promise<ListedObject[]> => {
    const objects: ListedObject[] = [];
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket })) {
      for (const entry of page.Contents ?? []) {
        if (!entry.Key) continue;
        objects.push({
          key: entry.Key,
          size: entry.Size ?? 0,
          eTag: (entry.ETag ?? '').replace(/"/g, ''),
          lastModified: entry.LastModified ?? new Date(),
        });
      }
    }
    return objects;
  };

  const pollOnce = async (): Promise<number> => {
    const listed = await listBucket();
    const present = new Set(listed.map((object) => object.key));
    let changed = false;
    for (const key of Object.keys(state.objects)) {
      // A deleted key is forgotten, so writing it again is announced again.
      if (!present.has(key)) {
        delete state.objects[key];
        changed = true;
      }
    }
    // Oldest write first, so sequencers follow the order of the writes.
    const fresh = listed
      .filter((object) => state.objects[object.key] !== versionOf(object))
      .sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime() || a.key.localeCompare(b.key));
    for (const object of fresh) {
      const sequencer = nextSequencer(BigInt(`0x${state.sequencer}`), Date.now());
      state.sequencer = sequencer.toString(16);
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: objectCreatedNotification(bucket, object, formatSequencer(sequencer), region),
        }),
      );
      state.objects[object.key] = versionOf(object);
      changed = true;
    }
    if (changed && statePath) saveState(statePath, state);
    return fresh.length;
  };

  // One poll at a time: the timer's and any caller's share the poll in flight.
  const poll = () => {
    inFlight ??= pollOnce().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const loop = (async () => {
    while (running) {
      try {
        await poll();
        failing = false;
      } catch (error) {
        // The server restarting, say: reported once, not every interval until it is back.
        if (running && !failing) options.onError?.(error);
        failing = true;
      }
      if (!running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs ?? 500);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  return {
    poll,
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}

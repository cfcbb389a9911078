import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { limits } from '../../lambdas/shared/definitions';
import type { Logger } from '../../lambdas/shared/logger';
import { readRecord } from '../../lambdas/shared/record-payload';
import { putObject } from '../../lambdas/shared/s3';
import { s3Url } from '../../lambdas/shared/s3-url';
import { type RecordItem, readEventItem, readRecordItem, readUserItem } from '../../lambdas/shared/table-items';
import type { LocalStack } from '../../lib/local/local-stack';
import { objectCreatedNotification } from '../../lib/local/s3-notifier';
import { scenarioUsers, terraUser, xertActivity } from '../../lib/tools/fixtures';
import { runSimulateCli } from '../../lib/tools/simulate';
import {
  deliver,
  drained,
  getRecord,
  getUser,
  queueDrained,
  scanAll,
  startTestStack,
  testSecret,
  userRecords,
  waitFor,
} from '../support/local';

/**
 * Terra's two AWS destinations (docs/terra.md §10) on the local stack: objects Terra writes
 * into the S3 destination bucket (announced by the local stand-in for S3 notifications), and
 * Ping-mode messages on the SQS destination queue. Real handlers, real dynalite and fauxqs.
 */

const start = Date.parse('2026-11-20T06:00:00Z');

function activity(userId: string, durationSeconds: number, seed = userId) {
  const event = xertActivity({ user: terraUser({ userId, provider: 'XERT' }), start, durationSeconds, sampleIntervalSeconds: 1, seed });
  const record = event.data[0] as { metadata: { summary_id: string; start_time: string } };
  return { event, record, raw: JSON.stringify(event), recordId: `activity#${record.metadata.summary_id}` };
}

/** Terra's key for a data event: `<api version>/<data type>/<user_id>-<start_time>.json`. */
const dataKey = (userId: string, startTime: string) => `2022-03-16/activity/${userId}-${startTime}.json`;

// The consumer's log lines, to see what became of an object that leaves no item behind.
const logged: Record<string, unknown>[] = [];
const logger = {
  info: (message: string, ...extra: unknown[]) =>
    logged.push(Object.assign({ message }, ...extra.filter((value) => typeof value === 'object'))),
  warn: () => {},
  error: () => {},
} as unknown as Logger;

// Terra's own bucket behind Ping-mode URLs; a different one from simulate's stand-in.
const pingBucket = 'terra-ping-mode-destinations';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ logger, s3NotificationIntervalMs: 200 });
  await stack.clients.s3.send(new CreateBucketCommand({ Bucket: pingBucket }));
});
afterAll(async () => {
  await stack?.stop();
});

const destinationUrl = (key: string) => s3Url(stack.destinations.bucket, key);

async function lastModified(key: string): Promise<number> {
  const { Contents = [] } = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.destinations.bucket, Prefix: key }));
  return Contents.find((object) => object.Key === key)!.LastModified!.getTime();
}

/** The consumer's log line for a FIT file it has processed. */
const fitProcessed = (url: string) =>
  waitFor(async () => logged.find((entry) => (entry.fit as { file?: string } | undefined)?.file === url), `${url} to be processed`, 30_000);

const stored = (userId: string, recordId: string, timeoutMs = 60_000) =>
  waitFor(() => getRecord(stack, userId, recordId), `${userId} ${recordId}`, timeoutMs);

/** Waits until the stored item of a record is the one `ready` awaits. */
const storedWhen = (userId: string, recordId: string, ready: (record: RecordItem) => boolean, what: string) =>
  waitFor(
    async () => {
      const current = await getRecord(stack, userId, recordId);
      return current && ready(readRecordItem(current)) ? current : undefined;
    },
    what,
    30_000,
  );

describe("Terra's S3 destination", () => {
  it('stores a 12 MB activity written under Terra key layout; it reads back equal, ordered by the object event time', async () => {
    const userId = 'user-s3-12mb';
    const { record, raw, recordId } = activity(userId, 67_000);
    expect(Buffer.byteLength(raw)).toBeGreaterThan(12_000_000);
    const key = dataKey(userId, record.metadata.start_time);
    await putObject(stack.clients.s3, destinationUrl(key), raw);

    const item = await stored(userId, recordId, 90_000);
    expect(await readRecord(item, stack.clients.s3)).toEqual(record);
    expect(readRecordItem(item).orderingTs).toBe(await lastModified(key));
    expect(readRecordItem(item).s3Sequencer).toMatch(/^[0-9A-F]{32}$/);
  }, 120_000);

  it('a newer overwrite of the same key wins', async () => {
    const userId = 'user-s3-overwrite';
    const first = activity(userId, 600);
    const key = dataKey(userId, first.record.metadata.start_time);
    await putObject(stack.clients.s3, destinationUrl(key), first.raw);
    const older = await stored(userId, first.recordId);
    expect(await readRecord(older, stack.clients.s3)).toEqual(first.record);

    // Terra re-sends the record with more data: same key, same summary_id, a superset.
    const newer = { ...first.event, data: [{ ...first.record, device_data: { name: 'Xert EBC', software_version: '2.1' } }] };
    await putObject(stack.clients.s3, destinationUrl(key), JSON.stringify(newer));
    const olderTs = readRecordItem(older).orderingTs;
    const item = await storedWhen(userId, first.recordId, (record) => record.orderingTs !== olderTs, 'the overwrite');
    expect(readRecordItem(item).orderingTs).toBeGreaterThan(olderTs);
    expect(readRecordItem(item).orderingTs).toBe(await lastModified(key));
    expect(await readRecord(item, stack.clients.s3)).toEqual(newer.data[0]);
  }, 60_000);

  it('links a .fit written after its activity JSON (fit_s3)', async () => {
    const userId = 'user-fit-after';
    const { record, raw, recordId } = activity(userId, 600);
    const name = `2022-03-16/activity/${userId}-${record.metadata.start_time}`;
    await putObject(stack.clients.s3, destinationUrl(`${name}.json`), raw);
    await stored(userId, recordId);
    await putObject(stack.clients.s3, destinationUrl(`${name}.fit`), Buffer.from('.FIT raw bytes'));
    const item = await storedWhen(userId, recordId, (record) => Boolean(record.fitS3), 'fit_s3');
    expect(readRecordItem(item).fitS3).toBe(destinationUrl(`${name}.fit`));
    expect(await readRecord(item, stack.clients.s3)).toEqual(record);
  }, 60_000);

  it('links a .fit written before its activity JSON (fit_s3)', async () => {
    const userId = 'user-fit-before';
    const { record, raw, recordId } = activity(userId, 600);
    const name = `2022-03-16/activity/${userId}-${record.metadata.start_time}`;
    await putObject(stack.clients.s3, destinationUrl(`${name}.fit`), Buffer.from('.FIT raw bytes'));
    // The FIT file is processed first, with nothing to link to yet.
    await fitProcessed(destinationUrl(`${name}.fit`));
    await putObject(stack.clients.s3, destinationUrl(`${name}.json`), raw);
    const item = await storedWhen(userId, recordId, (record) => Boolean(record.fitS3), 'fit_s3');
    expect(readRecordItem(item).fitS3).toBe(destinationUrl(`${name}.fit`));
  }, 60_000);

  it('keeps fit_s3 when a newer copy of the linked activity arrives through the webhook', async () => {
    const userId = 'user-fit-newer-copy';
    const { event, record, raw, recordId } = activity(userId, 600);
    const name = `2022-03-16/activity/${userId}-${record.metadata.start_time}`;
    await putObject(stack.clients.s3, destinationUrl(`${name}.json`), raw);
    await stored(userId, recordId);
    await putObject(stack.clients.s3, destinationUrl(`${name}.fit`), Buffer.from('.FIT raw bytes'));
    const linked = await storedWhen(userId, recordId, (record) => Boolean(record.fitS3), 'fit_s3');

    // Terra re-sends the activity, with more data, to the webhook: the Put replaces the item whole.
    const newer = { ...event, data: [{ ...record, device_data: { name: 'Xert EBC', software_version: '2.1' } }] };
    const orderingTimestamp = readRecordItem(linked).orderingTs + 60_000;
    expect((await deliver(stack, newer, { orderingTimestamp })).ok).toBe(true);
    const item = await storedWhen(userId, recordId, (record) => record.orderingTs === orderingTimestamp, 'the newer copy');
    expect(await readRecord(item, stack.clients.s3)).toEqual(newer.data[0]);
    expect(readRecordItem(item).s3Sequencer).toBeUndefined();
    // The link is set again just after the Put; wait for it rather than race it.
    const relinked = await storedWhen(userId, recordId, (record) => Boolean(record.fitS3), 'fit_s3 on the newer copy');
    expect(readRecordItem(relinked)).toMatchObject({ orderingTs: orderingTimestamp, fitS3: destinationUrl(`${name}.fit`) });
  }, 90_000);

  it('leaves a .fit with no JSON beside it alone, and says so', async () => {
    const userId = 'user-fit-alone';
    const key = `2022-03-16/activity/${userId}-2026-11-20T06:00:00Z.fit`;
    await putObject(stack.clients.s3, destinationUrl(key), Buffer.from('.FIT raw bytes'));
    const line = await fitProcessed(destinationUrl(key));
    expect(line).toMatchObject({ door: 's3_destination', written: 0, fit: { status: 'no_json' } });
    expect(await userRecords(stack, userId)).toEqual([]);
    await expect(stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.destinations.bucket, Key: key }))).resolves.toBeDefined();
  }, 60_000);

  it('archives an object whose key starts like the payload archive (archive/…) like any other', async () => {
    const userId = 'user-archived-key';
    const { record, raw, recordId } = activity(userId, 60);
    await putObject(stack.clients.s3, destinationUrl(`archive/${userId}-${record.metadata.start_time}.json`), raw);
    await stored(userId, recordId);
    const archived = await waitFor(async () => {
      const { Contents = [] } = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'archive/' }));
      return Contents.find((object) => object.Key?.includes(`_activity_${userId}_`));
    }, 'the archived copy');
    expect(archived.Key).toMatch(/^archive\/\d{4}\//);
  }, 60_000);

  it('keeps an object announced as too large to read whole as too_large, naming its key, size and the limit', async () => {
    const userId = 'user-s3-oversized';
    const key = dataKey(userId, '2026-11-20T06:00:00Z');
    // The guard trusts the notification's size, so announcing a size is enough (and writing
    // 64 MB is not needed): the consumer never asks for the object.
    const size = limits.pingMaxBytes + 1;
    const notification = objectCreatedNotification(
      stack.destinations.bucket,
      { key, size, eTag: 'e', lastModified: new Date() },
      '00FF',
      'us-east-1',
    );
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.destinations.notificationQueueUrl, MessageBody: notification }));
    const kept = await waitFor(
      async () => (await scanAll(stack, 'events')).map(readEventItem).find((event) => String(event.reason).includes(key)),
      'the kept event',
      30_000,
    );
    // Not `invalid`: `npm run reprocess` would route the description kept here as an event.
    expect(kept).toMatchObject({ outcome: 'too_large', type: 'activity' });
    expect(kept.reason).toContain(`${size} bytes`);
    expect(kept.reason).toContain(`${limits.pingMaxBytes}-byte limit`);
    expect(await userRecords(stack, userId)).toEqual([]);
  }, 60_000);
});

describe("Terra's SQS destination", () => {
  it('stores a 20 MB activity announced by s3_payload (Ping mode); it reads back equal', async () => {
    const userId = 'user-sqs-20mb';
    const { record, raw, recordId } = activity(userId, 112_000);
    expect(Buffer.byteLength(raw)).toBeGreaterThan(20_000_000);
    // Terra's side: the event waits in Terra's bucket; the message carries only its URL.
    await putObject(stack.clients.s3, s3Url(pingBucket, `payloads/${userId}.json`), raw);
    const message = {
      status: 'success',
      type: 's3_payload',
      url: `${stack.sqs.endpoint}/${pingBucket}/payloads/${userId}.json`,
      expires_in: 600,
    };
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.destinations.queueUrl, MessageBody: JSON.stringify(message) }));

    const item = await stored(userId, recordId, 90_000);
    expect(await readRecord(item, stack.clients.s3)).toEqual(record);
    expect(readRecordItem(item).s3Sequencer).toBeUndefined();
  }, 120_000);
});

async function runSimulateCliQuietly(argv: string[], now = Date.now()) {
  const lines: string[] = [];
  const code = await runSimulateCli(argv, {
    env: { PORT: String(stack.port), SQS_PORT: String(stack.sqs.port) },
    fetch: globalThis.fetch,
    now: () => now,
    uuid: () => crypto.randomUUID(),
    write: (line) => lines.push(line),
    readFile: () => undefined,
  });
  return { code, output: lines.join('\n') };
}

describe('npm run simulate --via', () => {
  const seed = 'destinations-simulate';

  /** What the scenario left in the tables: each record as Terra sent it, each user's state. */
  async function snapshot(userIds: string[]) {
    const records: Record<string, unknown> = {};
    const users: Record<string, unknown> = {};
    for (const userId of userIds) {
      for (const item of await userRecords(stack, userId)) {
        const { recordId, type, startTime } = readRecordItem(item);
        records[`${userId} ${recordId}`] = { type, startTime, payload: await readRecord(item, stack.clients.s3) };
      }
      const item = await getUser(stack, userId);
      const user = item && readUserItem(item);
      users[userId] = {
        status: user?.status,
        active: user?.active,
        provider: user?.provider,
        referenceId: user?.referenceId,
        lastEventType: user?.lastEventType,
      };
    }
    return { records, users };
  }

  /** Which copy of an item is stored: its ordering key and, for a record, the S3 door's sequencer. */
  interface StoredCopy {
    key: string;
    recordId?: string;
    orderingTs?: number;
    s3Sequencer?: string;
  }

  /** Every record and user of the scenario, to see which door wrote it last. */
  async function items(userIds: string[]) {
    const all: StoredCopy[] = [];
    for (const userId of userIds) {
      for (const { recordId, orderingTs, s3Sequencer } of (await userRecords(stack, userId)).map(readRecordItem))
        all.push({ key: `${userId} ${recordId}`, recordId, orderingTs, s3Sequencer });
      all.push({ key: userId, orderingTs: readUserItem((await getUser(stack, userId))!).orderingTs });
    }
    return all;
  }

  /** Waits until every item was written again (a newer ordering_ts) and `written` says by which door. */
  async function rewritten(userIds: string[], before: StoredCopy[], written: (copy: StoredCopy) => boolean) {
    const previous = new Map(before.map((copy) => [copy.key, copy.orderingTs]));
    await waitFor(
      async () => {
        const now = await items(userIds);
        const done =
          now.length === before.length &&
          now.every((copy) => (copy.orderingTs ?? 0) > (previous.get(copy.key) ?? Number.POSITIVE_INFINITY) && written(copy));
        return done ? true : undefined;
      },
      'every record and user written again',
      90_000,
    );
  }

  it('sqs and s3 store the same records and user states as webhook', async () => {
    const now = Date.now();
    const users = scenarioUsers({ now, seed });
    const userIds = Object.values(users).map((user) => user.user_id);

    const webhook = await runSimulateCliQuietly(['--seed', seed, '--secret', testSecret], now);
    expect(webhook.code).toBe(0);
    await drained(stack, 60_000);
    const throughWebhook = await snapshot(userIds);
    expect(Object.keys(throughWebhook.records).length).toBeGreaterThan(5);
    expect(throughWebhook.users).toHaveProperty([users.throwaway.user_id], expect.objectContaining({ status: 'deauthenticated' }));
    const webhookItems = await items(userIds);

    const s3 = await runSimulateCliQuietly(['--via', 's3', '--seed', seed], now);
    expect(s3.code).toBe(0);
    expect(s3.output).toContain(`→ s3://${stack.destinations.bucket}/2022-03-16/activity/`);
    // Records the S3 door writes carry its sequencer; users are simply newer.
    await rewritten(userIds, webhookItems, (copy) => copy.recordId === undefined || copy.s3Sequencer !== undefined);
    await queueDrained(stack, stack.destinations.notificationQueueUrl, 60_000);
    expect(await snapshot(userIds)).toEqual(throughWebhook);
    const s3Items = await items(userIds);

    const sqs = await runSimulateCliQuietly(['--via', 'sqs', '--seed', seed], now);
    expect(sqs.code).toBe(0);
    expect(sqs.output).toContain('s3_payload of s3://terra-ping-stand-in/payloads/');
    // A copy from another door replaces the item whole, sequencer included.
    await rewritten(userIds, s3Items, (copy) => copy.recordId === undefined || copy.s3Sequencer === undefined);
    await queueDrained(stack, stack.destinations.queueUrl, 60_000);
    expect(await snapshot(userIds)).toEqual(throughWebhook);
  }, 240_000);

  it('exits non-zero with a clear message when nothing answers', async () => {
    const lines: string[] = [];
    const code = await runSimulateCli(['--via', 's3'], {
      env: { SQS_PORT: '1' },
      fetch: globalThis.fetch,
      now: Date.now,
      uuid: () => crypto.randomUUID(),
      write: (line) => lines.push(line),
      readFile: () => undefined,
    });
    expect(code).toBe(1);
    expect(lines.join('\n')).toContain('Nothing answered at http://127.0.0.1:1');
  });
});

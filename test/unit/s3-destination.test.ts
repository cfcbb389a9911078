import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { doorOf, type S3ObjectCreated } from '../../lambdas/consumer/doors';
import { fitKeyOf, jsonKeyOf, linkFitBeside, linkFitFile } from '../../lambdas/consumer/fit-files';
import type { ConsumerDependencies } from '../../lambdas/consumer/process';
import { processS3Object, s3Delivery, typeOfKey } from '../../lambdas/consumer/s3-destination';
import { paddedSequencer, sequencerWidth } from '../../lambdas/shared/ordering';
import { limits } from '../../lambdas/shared/definitions';
import { dataAttributes } from '../../lambdas/shared/attributes';
import { nextSequencer, notificationKey, objectCreatedNotification } from '../../lib/local/s3-notifier';
import { parseSimulateArgs } from '../../lib/tools/simulate';
import { s3DestinationKey } from '../../lib/tools/simulate-destinations';

const asSqsRecord = (body: string) =>
  ({ body, attributes: { SentTimestamp: '1700000000000' }, messageAttributes: {} }) as unknown as SQSRecord;

describe('S3 destination: ordering from the S3 event', () => {
  const object = {
    bucket: 'terra-ingest-destination',
    key: '2022-03-16/activity/abc123-2026-03-12T06:00:00Z.json',
    eventTime: '2026-03-12T06:05:01.234Z',
    sequencer: '0055aed6dcd90281e5',
  };

  it('orders by the event time in ms, and points at the object', () => {
    const delivery = s3Delivery(object, Date.parse('2026-03-12T06:05:02Z'));
    expect(delivery).toEqual({
      bodyS3: 's3://terra-ingest-destination/2022-03-16/activity/abc123-2026-03-12T06:00:00Z.json',
      orderingTimestamp: Date.parse('2026-03-12T06:05:01.234Z'),
      signatureTimestamp: Math.floor(Date.parse('2026-03-12T06:05:01.234Z') / 1000),
      receivedAt: '2026-03-12T06:05:02.000Z',
      s3Sequencer: '00000000000000' + '0055AED6DCD90281E5',
    });
  });

  it('pads sequencers to one width, so string order is S3 order (a shorter one is not greater)', () => {
    // As raw strings, "FF" > "0100"; as S3 sequencers, 0xFF < 0x100.
    expect(paddedSequencer('ff')! < paddedSequencer('0100')!).toBe(true);
    expect(paddedSequencer('0055AED6DCD90281E5')).toHaveLength(sequencerWidth);
    expect(paddedSequencer(undefined)).toBeUndefined();
  });

  it('uses the time of processing for an unparseable event time rather than NaN', () => {
    const delivery = s3Delivery({ ...object, eventTime: 'yesterday' }, 1_700_000_000_000);
    expect(delivery.orderingTimestamp).toBe(1_700_000_000_000);
  });

  it.each([
    ['2022-03-16/activity/abc-2026-03-12T06:00:00Z.json', 'activity'],
    ['auth/abc-2026-03-12T06:00:00Z.json', 'auth'],
    ['stray.json', 's3_object'],
  ])('reads the type Terra filed %s under', (key, type) => {
    expect(typeOfKey(key)).toBe(type);
  });

  it('pairs a FIT file with the JSON of the same name', () => {
    expect(fitKeyOf('2022-03-16/activity/abc-2026-03-12T06:00:00Z.json')).toBe('2022-03-16/activity/abc-2026-03-12T06:00:00Z.fit');
    expect(jsonKeyOf('2022-03-16/activity/abc-2026-03-12T06:00:00Z.fit')).toBe('2022-03-16/activity/abc-2026-03-12T06:00:00Z.json');
    expect(fitKeyOf('2022-03-16/activity/abc.txt')).toBeUndefined();
  });
});

describe('local S3 notifications', () => {
  const listed = {
    key: '2022-03-16/activity/a b+c-2026-03-12T06:00:00Z.json',
    size: 1234,
    eTag: 'd41d8cd98f00b204e9800998ecf8427e',
    lastModified: new Date('2026-03-12T06:05:01.234Z'),
  };

  it('are what the consumer reads as an S3 ObjectCreated event, key decoded back', () => {
    const body = objectCreatedNotification('terra-ingest-destination', listed, '0055AED6DCD90281E5', 'us-east-1');
    expect(JSON.parse(body).Records[0]).toMatchObject({ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put' });
    expect(doorOf(asSqsRecord(body))).toEqual({
      door: 's3_destination',
      objects: [
        {
          bucket: 'terra-ingest-destination',
          key: listed.key,
          size: 1234,
          eventTime: '2026-03-12T06:05:01.234Z',
          sequencer: '0055AED6DCD90281E5',
        },
      ],
    });
  });

  it('encode keys as S3 does: + for a space, %2B for a plus, / kept', () => {
    expect(notificationKey('a/b c+d:e.json')).toBe('a/b+c%2Bd%3Ae.json');
  });

  it('hand out increasing sequencers, even when the clock stands still or goes back', () => {
    const first = nextSequencer(0n, 1_700_000_000_000);
    const second = nextSequencer(first, 1_700_000_000_000);
    const third = nextSequencer(second, 1_600_000_000_000);
    expect(second).toBeGreaterThan(first);
    expect(third).toBeGreaterThan(second);
  });
});

describe('simulate --via', () => {
  it('defaults to the webhook and refuses an unknown door', () => {
    expect(parseSimulateArgs([], {}).via).toBe('webhook');
    expect(parseSimulateArgs(['--via', 's3'], {}).via).toBe('s3');
    expect(() => parseSimulateArgs(['--via', 'ftp'], {})).toThrow(/--via must be one of webhook, sqs, s3/);
  });

  it("writes data events under Terra's versioned layout and the rest by type and time", () => {
    const user = { user_id: 'abc123' };
    const activity = { type: 'activity', version: '2022-03-16', user, data: [{ metadata: { start_time: '2026-03-12T06:00:00Z' } }] };
    expect(s3DestinationKey(activity as never, 0)).toBe('2022-03-16/activity/abc123-2026-03-12T06:00:00Z.json');
    expect(s3DestinationKey({ type: 'auth', user } as never, Date.parse('2026-03-12T07:00:00Z'))).toBe(
      'auth/abc123-2026-03-12T07:00:00.000Z.json',
    );
  });
});

/**
 * AWS behaviour fauxqs cannot show (it keeps no versions), so S3 is a stub here: each key holds
 * its versions, oldest first; a GET without VersionId answers the latest.
 */
interface StoredVersion {
  versionId: string;
  body: Buffer;
  /** What S3 would say the size is, when the test needs it larger than the body. */
  contentLength?: number;
}

function stubS3(objects: Record<string, StoredVersion[]>) {
  const calls: { command: string; input: { Bucket: string; Key: string; VersionId?: string } }[] = [];
  const bodiesRead: string[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: { Bucket: string; Key: string; VersionId?: string } }) => {
      const name = command.constructor.name;
      calls.push({ command: name, input: command.input });
      const { Key: key, VersionId: versionId } = command.input;
      const versions = objects[key] ?? [];
      const version = versionId === undefined ? versions.at(-1) : versions.find((stored) => stored.versionId === versionId);
      if (!version)
        throw Object.assign(new Error('missing'), {
          name: name === 'HeadObjectCommand' ? 'NotFound' : 'NoSuchKey',
          $metadata: { httpStatusCode: 404 },
        });
      const ContentLength = version.contentLength ?? version.body.length;
      if (name === 'HeadObjectCommand') return { ContentLength };
      if (name === 'GetObjectCommand') {
        const Body = {
          transformToByteArray: async () => {
            bodiesRead.push(key);
            return new Uint8Array(version.body);
          },
          destroy: () => {},
        };
        return { ContentLength, Body, Metadata: {} };
      }
      throw new Error(`the consumer should not send ${name}`);
    },
  };
  return { client: client as unknown as S3Client, calls, bodiesRead };
}

function stubDependencies(s3: S3Client) {
  const writes: { command: string; input: { Item?: Record<string, unknown>; Key?: Record<string, unknown> } }[] = [];
  const documentClient = {
    send: async (command: { constructor: { name: string }; input: never }) => {
      writes.push({ command: command.constructor.name, input: command.input });
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  const deps: ConsumerDependencies = {
    documentClient,
    tables: { data: 'terra-data', users: 'terra-users', events: 'terra-events' },
    s3,
    now: () => 1_700_000_000_000,
  };
  const recordIds = (command: string) =>
    writes.filter((write) => write.command === command).map((write) => (write.input.Item ?? write.input.Key)![dataAttributes.recordId]);
  return { deps, recordIds };
}

const bucket = 'terra-ingest-destination';

/** An activity event whose first record starts on 2026-03-01, so Terra names it by that day. */
function activities(...summaryIds: string[]): Buffer {
  const data = summaryIds.map((summaryId, day) => ({ metadata: { summary_id: summaryId, start_time: `2026-03-0${day + 1}T06:00:00Z` } }));
  return Buffer.from(JSON.stringify({ type: 'activity', version: '2022-03-16', user: { user_id: 'u1', provider: 'XERT' }, data }));
}

/** An S3 notification for `key` as AWS sends it from a versioned bucket (or `null` from an unversioned one). */
function versionedNotification(key: string, versionId: string | null): SQSRecord {
  const listed = { key, size: 100, eTag: 'e', lastModified: new Date('2026-03-30T06:00:00Z') };
  const body = JSON.parse(objectCreatedNotification(bucket, listed, '0055AED6DCD90281E5', 'us-east-1'));
  body.Records[0].s3.object.versionId = versionId;
  return asSqsRecord(JSON.stringify(body));
}

function announced(record: SQSRecord): S3ObjectCreated {
  const door = doorOf(record);
  if (door.door !== 's3_destination') throw new Error(`not an S3 notification: ${door.door}`);
  return door.objects[0];
}

describe('S3 destination: two events sharing a key', () => {
  const key = '2022-03-16/activity/u1-2026-03-01T06:00:00Z.json';
  // A 30-day backfill chunk, then a one-day update starting the same day: the same key. The
  // update is written before the chunk's notification is processed.
  const objects = {
    [key]: [
      { versionId: 'v1-backfill', body: activities('a1', 'a2') },
      { versionId: 'v2-update', body: activities('a1') },
    ],
  };

  it('reads the version the notification announced, so the first event is not lost to the second', async () => {
    const s3 = stubS3(objects);
    const { deps, recordIds } = stubDependencies(s3.client);
    const object = announced(versionedNotification(key, 'v1-backfill'));
    expect(object.versionId).toBe('v1-backfill');

    await processS3Object(object, deps, 1);
    expect(s3.calls.filter((call) => call.command === 'GetObjectCommand').map((call) => call.input)).toEqual([
      { Bucket: bucket, Key: key, VersionId: 'v1-backfill' },
    ]);
    expect(recordIds('PutCommand')).toEqual(['activity#a1', 'activity#a2']);
  });

  it("reads the key's latest write when S3 names no version (an unversioned bucket says null)", async () => {
    const s3 = stubS3(objects);
    const { deps, recordIds } = stubDependencies(s3.client);
    const object = announced(versionedNotification(key, null));
    expect(object).not.toHaveProperty('versionId');

    await processS3Object(object, deps, 1);
    expect(s3.calls.find((call) => call.command === 'GetObjectCommand')!.input).toEqual({ Bucket: bucket, Key: key });
    expect(recordIds('PutCommand')).toEqual(['activity#a1']);
  });
});

describe('S3 destination: FIT linking reads each object once', () => {
  const name = '2022-03-16/activity/u1-2026-03-01T06:00:00Z';

  it('a FIT file arriving reads the JSON beside it with one GET, no HEAD, and links its activities', async () => {
    const s3 = stubS3({ [`${name}.json`]: [{ versionId: 'v1', body: activities('a1', 'a2') }] });
    const { deps, recordIds } = stubDependencies(s3.client);
    const fit = await linkFitFile(deps, bucket, `${name}.fit`);
    expect(s3.calls.map((call) => `${call.command} ${call.input.Key}`)).toEqual([`GetObjectCommand ${name}.json`]);
    expect(fit).toEqual({ file: `s3://${bucket}/${name}.fit`, status: 'linked', linked: 2, notLinked: 0 });
    expect(recordIds('UpdateCommand')).toEqual(['activity#a1', 'activity#a2']);
  });

  it('a FIT file with no JSON beside it is left alone after that one GET answers 404', async () => {
    const s3 = stubS3({});
    const { deps, recordIds } = stubDependencies(s3.client);
    expect(await linkFitFile(deps, bucket, `${name}.fit`)).toMatchObject({ status: 'no_json', linked: 0 });
    expect(s3.calls.map((call) => call.command)).toEqual(['GetObjectCommand']);
    expect(recordIds('UpdateCommand')).toEqual([]);
  });

  it('the JSON beside a FIT file is not downloaded when S3 says it is larger than the consumer reads', async () => {
    const s3 = stubS3({ [`${name}.json`]: [{ versionId: 'v1', body: activities('a1'), contentLength: limits.pingMaxBytes + 1 }] });
    const { deps } = stubDependencies(s3.client);
    expect(await linkFitFile(deps, bucket, `${name}.fit`)).toMatchObject({ status: 'json_too_large', linked: 0 });
    expect(s3.bodiesRead).toEqual([]);
  });

  it('an activity JSON just stored links the FIT file beside it by the record ids routing found, without reading the JSON again', async () => {
    const s3 = stubS3({ [`${name}.fit`]: [{ versionId: 'f1', body: Buffer.from('.FIT') }] });
    const { deps, recordIds } = stubDependencies(s3.client);
    const json = { bucket, key: `${name}.json`, eventTime: '2026-03-30T06:00:00Z' };
    const fit = await linkFitBeside(deps, json, { userId: 'u1', recordIds: ['activity#a1', 'activity#a2'] });
    expect(s3.calls.map((call) => `${call.command} ${call.input.Key}`)).toEqual([`HeadObjectCommand ${name}.fit`]);
    expect(fit).toMatchObject({ status: 'linked', linked: 2 });
    expect(recordIds('UpdateCommand')).toEqual(['activity#a1', 'activity#a2']);
  });

  it('reads nothing more when no FIT file is beside the activity', async () => {
    const withoutFit = stubS3({ [`${name}.json`]: [{ versionId: 'v1', body: activities('a1') }] });
    const json = { bucket, key: `${name}.json`, eventTime: '2026-03-30T06:00:00Z', versionId: 'v1' };
    expect(
      await linkFitBeside(stubDependencies(withoutFit.client).deps, json, { userId: 'u1', recordIds: ['activity#a1'] }),
    ).toBeUndefined();
    expect(withoutFit.calls.map((call) => call.command)).toEqual(['HeadObjectCommand']);
  });
});

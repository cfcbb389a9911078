import type { SQSRecord } from 'aws-lambda';
import { doorOf } from '../../lambdas/consumer/doors';
import { fitKeyOf, jsonKeyOf } from '../../lambdas/consumer/fit-files';
import { paddedSequencer, s3Delivery, sequencerWidth, typeOfKey } from '../../lambdas/consumer/s3-destination';
import { nextSequencer, notificationKey, objectCreatedNotification } from '../../lib/local/s3-notifier';
import { parseSimulateArgs } from '../../lib/tools/simulate';
import { s3DestinationKey } from '../../lib/tools/simulate-destinations';

const asSqsRecord = (body: string) => ({ body, attributes: { SentTimestamp: '1700000000000' }, messageAttributes: {} }) as unknown as SQSRecord;

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
    expect('FF' > '0100').toBe(true);
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
  const listed = { key: '2022-03-16/activity/a b+c-2026-03-12T06:00:00Z.json', size: 1234, eTag: 'd41d8cd98f00b204e9800998ecf8427e', lastModified: new Date('2026-03-12T06:05:01.234Z') };

  it('are what the consumer reads as an S3 ObjectCreated event, key decoded back', () => {
    const body = objectCreatedNotification('terra-ingest-destination', listed, '0055AED6DCD90281E5', 'us-east-1');
    expect(JSON.parse(body).Records[0]).toMatchObject({ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put' });
    expect(doorOf(asSqsRecord(body))).toEqual({
      door: 's3_destination',
      objects: [{ bucket: 'terra-ingest-destination', key: listed.key, size: 1234, eventTime: '2026-03-12T06:05:01.234Z', sequencer: '0055AED6DCD90281E5' }],
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
    expect(s3DestinationKey({ type: 'auth', user } as never, Date.parse('2026-03-12T07:00:00Z'))).toBe('auth/abc123-2026-03-12T07:00:00.000Z.json');
  });
});

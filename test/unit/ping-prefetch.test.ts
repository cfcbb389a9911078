import type { SQSRecord } from 'aws-lambda';
import { doorOf } from '../../lambdas/consumer/doors';
import { awsQueueUrlOf } from '../../lambdas/consumer/hand-back';
import { fetchPingPayload } from '../../lambdas/consumer/ping';
import {
  downloadPing,
  minimumPingTryMs,
  nextPingTry,
  pingExpiresAt,
  pingTryTimeoutMs,
  pingUrlOf,
  prefetchPings,
} from '../../lambdas/consumer/ping-prefetch';
import { limits } from '../../lambdas/shared/definitions';
import { localQueueUrlOf } from '../../lib/local/sqs-event-source';

const url = 'https://terra-payloads.s3.amazonaws.com/user/activity.json?X-Amz-Expires=300';
const ping = JSON.stringify({ type: 's3_payload', status: 'success', url, expires_in: 300 });

let nextId = 0;
function record(body: string, messageAttributes: SQSRecord['messageAttributes'] = {}): SQSRecord {
  return {
    messageId: `m-${nextId++}`,
    receiptHandle: 'r',
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1795000000000',
      SenderId: 's',
      ApproximateFirstReceiveTimestamp: '1795000000000',
    },
    messageAttributes,
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:terra-ingest-webhooks',
    awsRegion: 'eu-west-1',
  };
}
const attribute = (value: string) => ({ stringValue: value, dataType: 'String', stringListValues: [], binaryListValues: [] });
/** What the ingest function enqueues (door `webhook`). */
const webhook = (body: string) => record(body, { signature_timestamp: attribute('1795000000') });
/** What Terra's SQS destination sends: the bare event (door `sqs_destination`). */
const destination = (body: string) => record(body);

describe('which messages are Ping', () => {
  it("is an inline s3_payload with a string url, from the webhook or Terra's SQS destination", () => {
    expect(pingUrlOf(doorOf(webhook(ping)))).toBe(url);
    expect(pingUrlOf(doorOf(destination(ping)))).toBe(url);
  });

  it('is not a claim check, another type, a url that is not a string, or a body that is not JSON', () => {
    const claimCheck = webhook(JSON.stringify({ claim_check: 's3://b/k' }));
    claimCheck.messageAttributes.body_s3 = attribute('s3://b/k');
    expect(pingUrlOf(doorOf(claimCheck))).toBeUndefined();
    expect(pingUrlOf(doorOf(webhook(JSON.stringify({ type: 'activity', note: 's3_payload', url }))))).toBeUndefined();
    expect(pingUrlOf(doorOf(webhook(JSON.stringify({ type: 's3_payload', url: 42 }))))).toBeUndefined();
    expect(pingUrlOf(doorOf(webhook('{"type":"s3_payload",')))).toBeUndefined();
    expect(pingUrlOf(doorOf(webhook('"s3_payload"')))).toBeUndefined();
  });

  it('is not an S3 destination notification, even of an object named s3_payload', () => {
    const notification = {
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          eventTime: '2026-11-22T00:00:00Z',
          s3: { bucket: { name: 'b' }, object: { key: 's3_payload/x.json' } },
        },
      ],
    };
    expect(pingUrlOf(doorOf(destination(JSON.stringify(notification))))).toBeUndefined();
  });

  it('starts a download for each Ping of a batch, and none for the rest', () => {
    const records = [webhook(ping), webhook('{"type":"activity"}'), destination(ping)];
    const started: string[] = [];
    const doors = new Map(records.map((each) => [each.messageId, doorOf(each)]));
    const prefetched = prefetchPings(doors, async (startedUrl) => {
      started.push(startedUrl);
      return { ok: true, body: Buffer.from('{}') };
    });
    expect([...prefetched.keys()]).toEqual([records[0].messageId, records[2].messageId]);
    expect(started).toEqual([url, url]);
  });
});

describe('the clock of a Ping download', () => {
  it('expires expires_in seconds after arrival; never without expires_in', () => {
    expect(pingExpiresAt('2026-11-22T00:00:00.000Z', 300)).toBe(Date.parse('2026-11-22T00:05:00.000Z'));
    expect(pingExpiresAt('2026-11-22T00:00:00.000Z', null)).toBe(Infinity);
    expect(pingExpiresAt('not a date', 300)).toBe(Infinity);
  });

  it('gives a try its own timeout, or the time left in the invocation when that is shorter', () => {
    expect(pingTryTimeoutMs(50_000)).toBe(limits.pingTimeoutMs);
    expect(pingTryTimeoutMs(Infinity)).toBe(limits.pingTimeoutMs);
    expect(pingTryTimeoutMs(4_000)).toBe(4_000);
    expect(pingTryTimeoutMs(minimumPingTryMs)).toBe(minimumPingTryMs);
  });

  it('starts no try with less than the minimum left, nor with the invocation over', () => {
    expect(pingTryTimeoutMs(minimumPingTryMs - 1)).toBeUndefined();
    expect(pingTryTimeoutMs(-5_000)).toBeUndefined();
  });

  it('retries after a pause only if the URL is still valid and the invocation leaves a try after the pause', () => {
    const now = 1_000_000;
    expect(nextPingTry({ now, expiresAt: now + 60_000, timeLeftMs: 20_000, pauseMs: 3_000 })).toBe('retry');
    expect(nextPingTry({ now, expiresAt: Infinity, timeLeftMs: 3_000 + minimumPingTryMs, pauseMs: 3_000 })).toBe('retry');
    expect(nextPingTry({ now, expiresAt: Infinity, timeLeftMs: 3_000 + minimumPingTryMs - 1, pauseMs: 3_000 })).toBe('out_of_time');
    expect(nextPingTry({ now, expiresAt: now + 2_000, timeLeftMs: 20_000, pauseMs: 3_000 })).toBe('expired');
  });
});

describe('one Ping download against the invocation', () => {
  // Answers only when the request is aborted: a server that stalls.
  const stalling: typeof fetch = (_input, init) =>
    new Promise((_resolve, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason)));

  it('is out of time when the invocation, not its own timeout, cut it short', async () => {
    const fetched = await downloadPing(url, { fetch: stalling, timeLeftMs: minimumPingTryMs, perTryMs: 60_000 });
    expect(fetched).toMatchObject({ ok: false, permanent: false, timedOut: true, outOfTime: true });
  });

  it('is an ordinary transient failure when its own timeout cut it short', async () => {
    const fetched = await downloadPing(url, { fetch: stalling, timeLeftMs: 60_000, perTryMs: minimumPingTryMs });
    expect(fetched).toMatchObject({ ok: false, permanent: false, timedOut: true });
    expect(fetched).not.toHaveProperty('outOfTime');
  });

  it('is not started when the invocation has no time left for it', async () => {
    let called = false;
    const fetched = await downloadPing(url, {
      fetch: async () => {
        called = true;
        return new Response('{}');
      },
      timeLeftMs: minimumPingTryMs - 1,
    });
    expect(fetched).toMatchObject({ ok: false, outOfTime: true });
    expect(called).toBe(false);
  });

  it.each(['not a url', '/relative/path.json', 'ftp://terra.example/payload.json'])(
    'fails for good, untried, on an unusable url: %s',
    async (unusable) => {
      let called = false;
      const fetched = await fetchPingPayload(unusable, {
        fetch: async () => {
          called = true;
          return new Response('{}');
        },
        timeoutMs: 1_000,
        maxBytes: 1_000,
      });
      expect(fetched).toMatchObject({ ok: false, permanent: true, reason: expect.stringMatching(/download impossible/) });
      expect(called).toBe(false);
    },
  );
});

describe('the queue a message is handed back to', () => {
  it("is the AWS URL derived from the record's eventSourceARN", () => {
    expect(awsQueueUrlOf('arn:aws:sqs:eu-west-1:123456789012:terra-ingest-webhooks')).toBe(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/terra-ingest-webhooks',
    );
    expect(awsQueueUrlOf('arn:aws-cn:sqs:cn-north-1:123456789012:q')).toBe('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q');
  });

  it('refuses what is not an SQS queue ARN', () => {
    expect(() => awsQueueUrlOf('arn:aws:s3:::bucket')).toThrow(/not an SQS queue ARN/);
    expect(() => awsQueueUrlOf('https://sqs.eu-west-1.amazonaws.com/1/q')).toThrow(/not an SQS queue ARN/);
  });

  it("is under the emulator's endpoint locally", () => {
    expect(localQueueUrlOf('http://127.0.0.1:4566')('arn:aws:sqs:us-east-1:000000000000:terra-ingest-webhooks')).toBe(
      'http://127.0.0.1:4566/000000000000/terra-ingest-webhooks',
    );
  });
});

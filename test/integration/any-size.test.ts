import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { putObject } from '../../lambdas/shared/s3';
import { readRecord } from '../../lambdas/shared/record-payload';
import { readRecordItem } from '../../lambdas/shared/table-items';
import type { LocalStack } from '../../lib/local/local-stack';
import { terraUser, xertActivity } from '../../lib/tools/fixtures';
import { deliver, drained, getRecord, startTestStack, waitFor } from '../support/local';

/** Proof that every size arrives whole: pushed directly, and by Terra's Ping mode. */

const start = Date.parse('2026-11-20T06:00:00Z');
const pingBucket = 'terra-ping-mode';

function longActivity(userId: string, durationSeconds: number) {
  const event = xertActivity({
    user: terraUser({ userId, provider: 'XERT' }),
    start,
    durationSeconds,
    sampleIntervalSeconds: 1,
    seed: userId,
  });
  return { event, record: event.data[0] as { metadata: { summary_id: string } }, raw: JSON.stringify(event) };
}

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
  await stack.clients.s3.send(new CreateBucketCommand({ Bucket: pingBucket }));
});
afterAll(async () => {
  await stack?.stop();
});

async function storedRecord(userId: string, summaryId: string) {
  return waitFor(() => getRecord(stack, userId, `activity#${summaryId}`), `activity ${summaryId}`, 60_000);
}

describe('any size arrives whole', () => {
  it('a 3 MB activity pushed directly goes through S3 (claim check) and reads back equal', async () => {
    const { record, raw } = longActivity('user-3mb', 17_000);
    expect(Buffer.byteLength(raw)).toBeGreaterThan(3_000_000);
    expect((await deliver(stack, raw)).status).toBe(200);
    const item = await storedRecord('user-3mb', record.metadata.summary_id);
    expect(await readRecord(item, stack.clients.s3)).toEqual(record);
    const { KeyCount } = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'deliveries/' }));
    expect(KeyCount).toBeGreaterThan(0);
  }, 60_000);

  it('a small body never touches S3 on the ingest path', async () => {
    const before = (await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'deliveries/' }))).KeyCount ?? 0;
    const { raw } = longActivity('user-small', 60);
    expect((await deliver(stack, raw)).status).toBe(200);
    await drained(stack);
    const after = (await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'deliveries/' }))).KeyCount ?? 0;
    expect(after).toBe(before);
  });

  it('a 25 MB activity delivered by s3_payload (Ping mode) is fetched and reads back equal', async () => {
    const { record, raw } = longActivity('user-25mb', 138_500);
    expect(Buffer.byteLength(raw)).toBeGreaterThan(25_000_000);
    // Terra's side: the full event waits in a bucket behind a URL that expires in minutes.
    await putObject(stack.clients.s3, `s3://${pingBucket}/payloads/25mb.json`, raw);
    const ping = { type: 's3_payload', status: 'success', url: `${stack.sqs.endpoint}/${pingBucket}/payloads/25mb.json`, expires_in: 600 };
    expect((await deliver(stack, ping)).status).toBe(200);
    const item = await storedRecord('user-25mb', record.metadata.summary_id);
    expect(readRecordItem(item).payloadS3).toMatch(/^s3:\/\/terra-ingest-payloads\/records\//);
    expect(await readRecord(item, stack.clients.s3)).toEqual(record);
  }, 120_000);

  it('keeps a record too large even gzipped in S3; a repeat keeps it readable, a newer copy replaces its object', async () => {
    const userId = 'user-s3-record';
    const { record, raw } = longActivity(userId, 30_000);
    const recordId = `activity#${record.metadata.summary_id}`;
    expect((await deliver(stack, raw, { orderingTimestamp: 1000 })).status).toBe(200);
    const first = await storedRecord(userId, record.metadata.summary_id);
    expect(readRecordItem(first).payloadS3).toMatch(/^s3:\/\/terra-ingest-payloads\/records\//);
    // The same copy again (a Terra retry): nothing changes, the object stays readable.
    expect((await deliver(stack, raw, { orderingTimestamp: 1000 })).status).toBe(200);
    await drained(stack, 30_000);
    expect(await getRecord(stack, userId, recordId)).toEqual(first);
    expect(await readRecord(first, stack.clients.s3)).toEqual(record);
    // A newer copy: its own object, and the replaced one is removed.
    expect((await deliver(stack, raw, { orderingTimestamp: 2000 })).status).toBe(200);
    const second = await waitFor(
      async () => {
        const item = await getRecord(stack, userId, recordId);
        return item && readRecordItem(item).orderingTs === 2000 ? item : undefined;
      },
      'the newer copy',
      30_000,
    );
    expect(readRecordItem(second).payloadS3).not.toBe(readRecordItem(first).payloadS3);
    expect(await readRecord(second, stack.clients.s3)).toEqual(record);
    await expect(readRecord(first, stack.clients.s3)).rejects.toThrow();
  }, 60_000);
});

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { archiveIndexPrefix } from '../../lambdas/consumer/archive';
import type { LocalStack } from '../../lib/local/local-stack';
import { moveDeadLetters } from '../../lib/tools/redrive';
import { failS3WritesWhile } from '../support/failing-client';
import { deadLetterCount, deliver, drained, startTestStack, userRecords, waitFor } from '../support/local';

/**
 * Parts of the pipeline go down and come back: real servers stopped and restarted, with their
 * state on disk as in `npm start`.
 */

const activity = (userId: string) => ({
  type: 'activity',
  version: '2022-03-16',
  user: { user_id: userId, provider: 'XOSS' },
  data: [
    { metadata: { summary_id: 'ride-1', start_time: '2026-11-21T07:00:00+00:00', end_time: '2026-11-21T08:00:00+00:00', upload_type: 1 } },
  ],
});

let stack: LocalStack;
let dataDir: string;
let s3Failing = false;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'terra-ingest-outages-'));
  stack = await startTestStack({
    dataDir,
    queue: { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 },
    wrapS3Client: failS3WritesWhile(() => s3Failing),
  });
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The user's archived deliveries, through their index markers (archive.ts). */
async function archivedFor(userId: string): Promise<string[]> {
  const { Contents = [] } = await stack.clients.s3.send(
    new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: archiveIndexPrefix(userId) }),
  );
  return Contents.map((object) => object.Key!);
}

describe('outages', () => {
  it('answers 503 while the queue is down, so Terra retries, and 200 once it is back', async () => {
    const userId = randomUUID();
    await stack.sqs.stop();
    try {
      const response = await deliver(stack, activity(userId));
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('queue_unavailable');
    } finally {
      await stack.sqs.start();
    }
    // Nothing of the refused delivery was queued: once the consumer has had its chance, no record.
    await drained(stack);
    expect(await userRecords(stack, userId)).toHaveLength(0);
    // Terra's retry.
    expect((await deliver(stack, activity(userId))).status).toBe(200);
    await waitFor(async () => ((await userRecords(stack, userId)).length === 1 ? true : undefined), 'the retried delivery');
  }, 30_000);

  it('keeps accepting while DynamoDB is down; failed messages reach the dead-letter queue and a redrive stores them', async () => {
    const userIds = [randomUUID(), randomUUID(), randomUUID()];
    await stack.dynamoDb.stop();
    try {
      for (const userId of userIds) expect((await deliver(stack, activity(userId))).status).toBe(200);
      // Each message fails maxReceiveCount (2) times, then SQS moves it to the dead-letter queue.
      await waitFor(async () => ((await deadLetterCount(stack)) === userIds.length ? true : undefined), 'the dead-letter queue', 30_000);
    } finally {
      await stack.dynamoDb.start();
    }
    const moved = await moveDeadLetters(stack.clients.sqs, stack.queues.deadLetterQueueUrl, stack.queues.queueUrl);
    expect(moved).toMatchObject({ moved: userIds.length });
    await drained(stack);
    for (const userId of userIds) expect(await userRecords(stack, userId)).toHaveLength(1);
    expect(await deadLetterCount(stack)).toBe(0);
  }, 60_000);

  it("retries a delivery while S3 refuses the consumer's writes, dead-letters it, and a redrive archives and stores it", async () => {
    const userId = randomUUID();
    s3Failing = true;
    try {
      expect((await deliver(stack, activity(userId))).status).toBe(200);
      await waitFor(async () => ((await deadLetterCount(stack)) === 1 ? true : undefined), 'the dead-letter queue', 30_000);
      // The records are written beside the archive (process.ts), so they may be stored already;
      // the delivery still fails, whole, until its archive is written too.
      expect(await archivedFor(userId)).toHaveLength(0);
    } finally {
      s3Failing = false;
    }
    expect(await moveDeadLetters(stack.clients.sqs, stack.queues.deadLetterQueueUrl, stack.queues.queueUrl)).toMatchObject({ moved: 1 });
    await drained(stack);
    expect(await userRecords(stack, userId)).toHaveLength(1);
    expect(await archivedFor(userId)).toHaveLength(1);
  }, 60_000);
});

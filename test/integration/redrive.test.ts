import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { readRecord } from '../../lambdas/shared/record-payload';
import { readRecordItem } from '../../lambdas/shared/table-items';
import type { LocalStack } from '../../lib/local/local-stack';
import { moveDeadLetters, runRedriveCli } from '../../lib/tools/redrive';
import { failWritesFor } from '../support/failing-client';
import { deadLetters, deliver, drained, getRecord, queueDrained, startTestStack, userRecords, waitFor } from '../support/local';

/**
 * A delivery that failed until it was dead-lettered is brought back by the local redrive and
 * stored once the failure is gone: the operator's recovery path, end to end. Terra's SQS
 * destination, ordered by SentTimestamp, keeps its original order through the redrive.
 */

const activity = (userId: string, distanceMeters?: number) => ({
  type: 'activity',
  version: '2022-03-16',
  user: { user_id: userId, provider: 'XOSS' },
  data: [
    {
      metadata: {
        summary_id: `ride-${userId.slice(0, 8)}`,
        start_time: '2026-11-21T07:00:00+00:00',
        end_time: '2026-11-21T08:00:00+00:00',
        upload_type: 1,
      },
      ...(distanceMeters !== undefined && { distance_data: { summary: { distance_meters: distanceMeters } } }),
    },
  ],
});

async function depth(stack: LocalStack, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Object.values(Attributes).reduce((sum, value) => sum + Number(value), 0);
}

const failing = new Map<string, number>();
/** DynamoDB calls per user: shows the consumer reached a record's writes. */
const calls = new Map<string, number>();
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({
    wrapDocumentClient: failWritesFor(failing, calls),
    queue: { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 },
  });
});
afterAll(async () => {
  await stack?.stop();
});

describe('local redrive', () => {
  it('moves a dead-lettered delivery back, with its metadata, and it is stored exactly once', async () => {
    const userId = randomUUID();
    failing.set(userId, -1);
    const orderingTimestamp = Date.now();
    expect((await deliver(stack, activity(userId), { orderingTimestamp, terraReference: 'ref-redrive' })).status).toBe(200);
    await waitFor(
      async () => ((await depth(stack, stack.queues.deadLetterQueueUrl)) > 0 ? true : undefined),
      'the dead-letter queue',
      20_000,
    );
    await drained(stack);
    expect(await userRecords(stack, userId)).toHaveLength(0);

    failing.delete(userId);
    const result = await moveDeadLetters(stack.clients.sqs, stack.queues.deadLetterQueueUrl, stack.queues.queueUrl);
    expect(result).toEqual({ moved: 1, failed: 0, notDeleted: 0 });

    const [record] = await waitFor(async () => {
      const records = await userRecords(stack, userId);
      return records.length > 0 ? records : undefined;
    }, 'the redriven record');
    await drained(stack);
    const records = await userRecords(stack, userId);
    expect(records).toHaveLength(1);
    // The message attributes survived the move: Terra's ordering timestamp and reference.
    expect(readRecordItem(record!)).toMatchObject({
      recordId: `activity#ride-${userId.slice(0, 8)}`,
      orderingTs: orderingTimestamp,
      terraReference: 'ref-redrive',
    });
    expect(await depth(stack, stack.queues.deadLetterQueueUrl)).toBe(0);
    expect(await deadLetters(stack)).toHaveLength(0);
  });

  it('returns at once when the dead-letter queue is empty', async () => {
    expect(await moveDeadLetters(stack.clients.sqs, stack.queues.deadLetterQueueUrl, stack.queues.queueUrl)).toEqual({
      moved: 0,
      failed: 0,
      notDeleted: 0,
    });
  });

  it('does not let a redriven old SQS-destination message overwrite a newer copy stored meanwhile', async () => {
    const userId = randomUUID();
    const recordId = `activity#ride-${userId.slice(0, 8)}`;
    const older = activity(userId, 10_000);
    const newer = activity(userId, 12_500);
    const sendToDestination = (event: unknown) =>
      stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.destinations.queueUrl, MessageBody: JSON.stringify(event) }));

    // Terra's SQS destination delivers the older copy while DynamoDB refuses its writes.
    failing.set(userId, -1);
    await sendToDestination(older);
    await waitFor(
      async () => ((await depth(stack, stack.destinations.deadLetterQueueUrl)) > 0 ? true : undefined),
      'the destination dead-letter queue',
      30_000,
    );
    await queueDrained(stack, stack.destinations.queueUrl, 30_000);
    expect(await userRecords(stack, userId)).toHaveLength(0);
    failing.delete(userId);

    // A newer copy of the same record arrives later and is stored.
    await sendToDestination(newer);
    const stored = await waitFor(() => getRecord(stack, userId, recordId), 'the newer copy', 30_000);
    expect(await readRecord(stored, stack.clients.s3)).toEqual(newer.data[0]);

    // The dead letter still has its original SentTimestamp, older than the stored copy's.
    const { Messages: [deadLetter] = [] } = await stack.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.destinations.deadLetterQueueUrl,
        MessageSystemAttributeNames: ['SentTimestamp'],
        VisibilityTimeout: 0,
        WaitTimeSeconds: 0,
      }),
    );
    expect(Number(deadLetter?.Attributes?.SentTimestamp)).toBeLessThan(readRecordItem(stored).orderingTs);

    const callsBefore = calls.get(userId) ?? 0;
    const output: string[] = [];
    expect(
      await runRedriveCli([], { env: { SQS_PORT: String(stack.sqs.port) }, write: (line) => output.push(line), sleep: async () => {} }),
    ).toBe(0);
    expect(output).toContainEqual(expect.stringMatching(/^SQS destination: moved 1 message from /));

    // The old copy was processed: it reached the table's conditional write, and is not dead-lettered again.
    await queueDrained(stack, stack.destinations.queueUrl, 30_000);
    expect(calls.get(userId) ?? 0).toBeGreaterThan(callsBefore);
    expect(await depth(stack, stack.destinations.deadLetterQueueUrl)).toBe(0);
    // ...and lost to the newer copy, as it would have without the outage.
    const after = await getRecord(stack, userId, recordId);
    const { orderingTs, receivedAt, bodySha256 } = readRecordItem(stored);
    expect(readRecordItem(after!)).toMatchObject({ orderingTs, receivedAt, bodySha256 });
    expect(await readRecord(after!, stack.clients.s3)).toEqual(newer.data[0]);
  }, 120_000);
});

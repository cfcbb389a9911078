import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { LocalStack } from '../../lib/local/local-stack';
import { moveDeadLetters } from '../../lib/tools/redrive';
import { failWritesFor } from '../support/failing-client';
import { deadLetters, deliver, drained, startTestStack, userRecords, waitFor } from '../support/local';

/**
 * A delivery that failed until it was dead-lettered is brought back by the local redrive and
 * stored once the failure is gone: the operator's recovery path, end to end.
 */

const activity = (userId: string) => ({
  type: 'activity',
  version: '2022-03-16',
  user: { user_id: userId, provider: 'XOSS' },
  data: [{ metadata: { summary_id: `ride-${userId.slice(0, 8)}`, start_time: '2026-11-21T07:00:00+00:00', end_time: '2026-11-21T08:00:00+00:00', upload_type: 1 } }],
});

async function depth(stack: LocalStack, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Object.values(Attributes).reduce((sum, value) => sum + Number(value), 0);
}

const failing = new Map<string, number>();
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ wrapDocumentClient: failWritesFor(failing), queue: { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 } });
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
    await waitFor(async () => ((await depth(stack, stack.queues.deadLetterQueueUrl)) > 0 ? true : undefined), 'the dead-letter queue', 20_000);
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
    expect(record).toMatchObject({ record_id: `activity#ride-${userId.slice(0, 8)}`, ordering_ts: orderingTimestamp, terra_reference: 'ref-redrive' });
    expect(await depth(stack, stack.queues.deadLetterQueueUrl)).toBe(0);
    expect(await deadLetters(stack)).toHaveLength(0);
  });

  it('returns at once when the dead-letter queue is empty', async () => {
    expect(await moveDeadLetters(stack.clients.sqs, stack.queues.deadLetterQueueUrl, stack.queues.queueUrl)).toEqual({ moved: 0, failed: 0, notDeleted: 0 });
  });
});

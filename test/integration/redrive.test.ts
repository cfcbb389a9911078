import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../lib/local/local-stack';
import { moveDeadLetters } from '../../lib/tools/redrive';
import { deadLetters, deliver, drained, startTestStack, userRecords, waitFor } from '../support/local';

/**
 * A delivery that failed until it was dead-lettered is brought back by the local redrive and
 * stored once the failure is gone: the operator's recovery path, end to end.
 */

/** Writes for users in `failing` throw a throttling error, as DynamoDB does under load. */
function failFor(failing: Set<string>) {
  return (client: DynamoDBDocumentClient): DynamoDBDocumentClient => {
    const send = client.send.bind(client);
    return new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: { input: { Item?: { user_id?: string } } }, ...rest: unknown[]) => {
          const userId = command.input.Item?.user_id;
          if (userId && failing.has(userId)) {
            throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
          }
          return (send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
        };
      },
    });
  };
}

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

const failing = new Set<string>();
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ wrapDocumentClient: failFor(failing), queue: { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 } });
});
afterAll(async () => {
  await stack?.stop();
});

describe('local redrive', () => {
  it('moves a dead-lettered delivery back, with its metadata, and it is stored exactly once', async () => {
    const userId = randomUUID();
    failing.add(userId);
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

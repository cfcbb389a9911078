import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../lib/local/local-stack';
import { failWritesFor } from '../support/failing-client';
import { deadLetters, deliver, drained, startTestStack, userRecords, waitFor } from '../support/local';

const activity = (userId: string) => ({
  type: 'activity',
  version: '2022-03-16',
  user: { user_id: userId, provider: 'XOSS' },
  data: [
    {
      metadata: {
        summary_id: `ride-${userId.slice(0, 4)}`,
        start_time: '2026-11-21T07:00:00+00:00',
        end_time: '2026-11-21T08:00:00+00:00',
        upload_type: 1,
      },
    },
  ],
});

const failing = new Map<string, number>();
const calls = new Map<string, number>();
/** The user of every call the consumer makes on an item, failed or not, in the order it makes them. */
const sequence: string[] = [];
const inOrder = (client: DynamoDBDocumentClient): DynamoDBDocumentClient =>
  new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: { input: { Item?: { user_id?: string }; Key?: { user_id?: string } } }, ...rest: unknown[]) => {
        const userId = command.input.Item?.user_id ?? command.input.Key?.user_id;
        if (userId !== undefined) sequence.push(userId);
        return (target.send as (...args: unknown[]) => Promise<unknown>).call(target, command, ...rest);
      };
    },
  });
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({
    wrapDocumentClient: (client) => inOrder(failWritesFor(failing, calls)(client)),
    queue: { visibilityTimeoutSeconds: 1, maxReceiveCount: 3 },
    consumerConcurrency: 1,
  });
});
afterAll(async () => {
  await stack?.stop();
});

describe('a failing message in a batch', () => {
  it('fails only that message: the others are stored at once, it is retried and then stored', async () => {
    const users = [randomUUID(), randomUUID(), randomUUID()];
    failing.set(users[1], 1); // fails once, then succeeds
    // Enqueue the three as one batch, as the ingest function would have, so they reach the
    // consumer together.
    await stack.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.queues.queueUrl,
        Entries: users.map((userId, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(activity(userId)),
          MessageAttributes: { signature_timestamp: { DataType: 'Number', StringValue: String(Math.floor(Date.now() / 1000)) } },
        })),
      }),
    );
    await waitFor(
      async () => ((await userRecords(stack, users[0])).length && (await userRecords(stack, users[2])).length ? true : undefined),
      'the healthy messages',
    );
    await drained(stack);
    for (const userId of users) expect(await userRecords(stack, userId)).toHaveLength(1);
    expect(failing.get(users[1])).toBe(0);
    // Only the failed message was processed again: had the whole batch been retried, the healthy
    // ones would have been written (and refused by the condition) a second time.
    expect(users.map((userId) => calls.get(userId))).toEqual([1, 2, 1]);
    // The healthy ones did not wait for the failed one's retry (after its visibility timeout): both
    // were written before it was tried a second time.
    const secondTry = sequence.indexOf(users[1], sequence.indexOf(users[1]) + 1);
    expect(secondTry).toBeGreaterThan(sequence.lastIndexOf(users[0]));
    expect(secondTry).toBeGreaterThan(sequence.lastIndexOf(users[2]));
  });

  it('moves a message that keeps failing to the dead-letter queue after maxReceiveCount', async () => {
    const userId = randomUUID();
    failing.set(userId, -1); // fails for ever
    const body = JSON.stringify(activity(userId));
    expect((await deliver(stack, body)).status).toBe(200);
    const [dead] = await waitFor(
      async () => {
        const messages = await deadLetters(stack);
        return messages.length > 0 ? messages : undefined;
      },
      'the dead-letter queue',
      20_000,
    );
    expect(dead.Body).toBe(body);
    expect(dead.MessageAttributes?.signature_timestamp?.StringValue).toMatch(/^\d+$/);
    expect(await userRecords(stack, userId)).toHaveLength(0);
  });
});

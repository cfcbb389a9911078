import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
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
/** Calls per user (failWritesFor counts them), with a hook on each: the test pauses the consumer at a failure. */
class Calls extends Map<string, number> {
  onCall?: (userId: string, count: number) => void;
  override set(userId: string, count: number) {
    super.set(userId, count);
    this.onCall?.(userId, count);
    return this;
  }
}
const calls = new Calls();
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({
    wrapDocumentClient: failWritesFor(failing, calls),
    queue: { visibilityTimeoutSeconds: 1, maxReceiveCount: 3 },
    consumerConcurrency: 1,
  });
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(async () => {
  // Polling again even when a test stopped short of it, so one failure does not fail the next test.
  calls.onCall = undefined;
  await stack.eventSources.enable();
});

describe('a failing message in a batch', () => {
  it('fails only that message: the others are stored at once, it is retried and then stored', async () => {
    const users = [randomUUID(), randomUUID(), randomUUID()];
    failing.set(users[1], 1); // fails once, then succeeds
    // At the failure, the consumer stops taking batches: the invocation that fails it finishes,
    // the retry cannot start, so what is stored then was stored at once, not after the retry.
    let paused: Promise<void> | undefined;
    calls.onCall = (userId, count) => {
      if (userId === users[1] && count === 1) paused = stack.eventSources.disable();
    };
    // Enqueue the three as one batch, as the ingest function would have, so they reach the
    // consumer together, the failing one in the middle.
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
    await waitFor(async () => (paused ? true : undefined), 'the failed message');
    await paused;
    expect(await Promise.all(users.map(async (userId) => (await userRecords(stack, userId)).length))).toEqual([1, 0, 1]);
    expect(users.map((userId) => calls.get(userId))).toEqual([1, 1, 1]);

    await stack.eventSources.enable();
    await waitFor(async () => ((await userRecords(stack, users[1])).length ? true : undefined), 'the retried message');
    await drained(stack);
    for (const userId of users) expect(await userRecords(stack, userId)).toHaveLength(1);
    expect(failing.get(users[1])).toBe(0);
    // Only the failed message was processed again: had the whole batch been retried, the healthy
    // ones would have been written (and refused by the condition) a second time.
    expect(users.map((userId) => calls.get(userId))).toEqual([1, 2, 1]);
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

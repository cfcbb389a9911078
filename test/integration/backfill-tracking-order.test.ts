import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { eventId, largeRequestId } from '../../lambdas/consumer/items';
import { processDelivery } from '../../lambdas/consumer/process';
import type { QueuedDelivery } from '../../lambdas/shared/delivery';
import { eventItemKey } from '../../lambdas/shared/table-items';
import type { LocalStack } from '../../lib/local/local-stack';
import { consumerDependencies, startTestStack } from '../support/local';

/**
 * A backfill's chunks and its announcements (`large_request_processing`, `large_request_sending`)
 * share a terra-reference but not a queue order (SQS keeps none): a chunk processed before the
 * announcement that opens its backfill still counts in it (items.ts, largeRequestReceived). The
 * consumer is called directly, so the order is the test's, not a race's.
 */

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const deps = () => consumerDependencies(stack);

const user = (userId: string) => ({ user_id: userId, provider: 'WITHINGS', reference_id: 'ref', scopes: null, active: true });

function queued(body: unknown, reference: string): QueuedDelivery {
  return {
    body: Buffer.from(JSON.stringify(body)),
    signatureTimestamp: Math.floor(Date.now() / 1000),
    receivedAt: new Date().toISOString(),
    terraReference: reference,
  };
}

/** One chunk of the backfill: a daily event for one day of October. */
const chunk = (userId: string, reference: string, day: number) =>
  queued(
    {
      type: 'daily',
      version: '2022-03-16',
      user: user(userId),
      data: [{ metadata: { start_time: `2026-10-${String(day).padStart(2, '0')}T00:00:00+00:00`, end_time: null, upload_type: 1 } }],
    },
    reference,
  );

const processing = (userId: string, reference: string) =>
  queued({ type: 'large_request_processing', status: 'processing', user: user(userId), reference, message: 'm' }, reference);

const sending = (userId: string, reference: string, expectedPayloads: number) =>
  queued({ type: 'large_request_sending', user: user(userId), reference, message: 'm', expected_payloads: expectedPayloads }, reference);

/** What the tracker holds of a chunk: the first 16 hex characters of its body's hash. */
const counted = (delivery: QueuedDelivery) => eventId(delivery.body!).slice(0, 16);

async function tracker(reference: string) {
  const { Item } = await stack.clients.documentClient.send(
    new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(largeRequestId(reference)), ConsistentRead: true }),
  );
  return Item;
}

const received = async (reference: string) => [...((await tracker(reference))?.received_payloads ?? [])].sort();

describe('a backfill chunk processed before its announcement', () => {
  it('is counted in the backfill large_request_processing opens after it', async () => {
    const [userId, reference] = [randomUUID(), randomUUID()];
    const early = chunk(userId, reference, 1);
    await processDelivery(early, deps());
    // Not a backfill yet: no type or outcome, so the outcome index does not list it.
    expect(await tracker(reference)).not.toHaveProperty('outcome');
    expect(await received(reference)).toEqual([counted(early)]);

    await processDelivery(processing(userId, reference), deps());
    expect(await tracker(reference)).toMatchObject({ type: 'large_request', outcome: 'tracking', user_id: userId });
    expect(await received(reference)).toEqual([counted(early)]);
  });

  it('is counted with the chunks that follow, whichever announcement it overtook: chunk, processing, chunk, sending, chunk', async () => {
    const [userId, reference] = [randomUUID(), randomUUID()];
    const chunks = [chunk(userId, reference, 1), chunk(userId, reference, 2), chunk(userId, reference, 3)];
    await processDelivery(chunks[0]!, deps());
    await processDelivery(processing(userId, reference), deps());
    await processDelivery(chunks[1]!, deps());
    await processDelivery(sending(userId, reference, 3), deps());
    expect(await tracker(reference)).toMatchObject({ type: 'large_request', outcome: 'tracking', expected_payloads: 3 });
    expect(await received(reference)).toEqual(chunks.slice(0, 2).map(counted).sort());

    await processDelivery(chunks[2]!, deps());
    expect(await received(reference)).toEqual(chunks.map(counted).sort());
  });

  it('keeps expected_payloads when large_request_processing is processed after large_request_sending', async () => {
    const [userId, reference] = [randomUUID(), randomUUID()];
    const early = chunk(userId, reference, 1);
    await processDelivery(early, deps());
    await processDelivery(sending(userId, reference, 2), deps());
    await processDelivery(processing(userId, reference), deps());
    expect(await tracker(reference)).toMatchObject({ type: 'large_request', outcome: 'tracking', expected_payloads: 2 });
    expect(await received(reference)).toEqual([counted(early)]);
  });
});

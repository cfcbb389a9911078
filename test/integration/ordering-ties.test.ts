import { randomUUID } from 'node:crypto';
import { processDelivery } from '../../lambdas/consumer/process';
import type { QueuedDelivery } from '../../lambdas/shared/delivery';
import { paddedSequencer } from '../../lambdas/shared/ordering';
import type { LocalStack } from '../../lib/local/local-stack';
import { consumerDependencies, getRecord, getUser, sleepCopy, startTestStack } from '../support/local';

/**
 * Two different copies with the same ordering_ts: the later-received one wins (the tie-breaker of
 * lambdas/shared/ordering.ts), whichever the consumer processes last. SQS keeps no order, so the
 * earlier-received copy may well be processed last; the consumer is called directly here, so the
 * order is the test's, not a race's.
 */

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const deps = () => consumerDependencies(stack);

const orderingTimestamp = 1_700_000_000_000;
const earlierReceivedAt = '2026-11-22T10:00:00.000Z';
const laterReceivedAt = '2026-11-22T10:00:00.001Z';

function queued(body: unknown, receivedAt: string): QueuedDelivery {
  return { body: Buffer.from(JSON.stringify(body)), signatureTimestamp: orderingTimestamp / 1000, orderingTimestamp, receivedAt };
}

/** Both orders: the later-received copy is processed last, or the earlier-received one is. */
const orders = [
  ['the earlier-received one first', ['earlier', 'later'], { written: 1, skipped: 0 }],
  ['the earlier-received one last', ['later', 'earlier'], { written: 0, skipped: 1 }],
] as const;

describe('two different copies of a record with the same ordering_ts', () => {
  it.each(orders)('end as the later-received copy when the consumer processes %s', async (_order, processed, lastOutcome) => {
    const userId = randomUUID();
    const copies = {
      earlier: queued(sleepCopy(userId, 'earlier'), earlierReceivedAt),
      later: queued(sleepCopy(userId, 'later'), laterReceivedAt),
    };
    const outcomes = [];
    for (const name of processed) outcomes.push(await processDelivery(copies[name], deps()));
    // Last processed: written if it is the later-received copy, refused by the condition if not.
    expect(outcomes.at(-1)).toMatchObject(lastOutcome);
    expect(await getRecord(stack, userId, 'sleep#night-1')).toMatchObject({
      ordering_ts: orderingTimestamp,
      received_at: laterReceivedAt,
      payload: { copy: 'later' },
    });
  });
});

describe("two different copies of a user's connection state with the same ordering_ts", () => {
  it.each(orders)('end as the later-received state when the consumer processes %s', async (_order, processed, lastOutcome) => {
    const userId = randomUUID();
    const user = { user_id: userId, provider: 'DEXCOM', reference_id: 'ref', scopes: 'body', active: true };
    const copies = {
      earlier: queued({ type: 'auth', status: 'success', user, reference_id: 'ref', message: 'User has authenticated' }, earlierReceivedAt),
      later: queued({ type: 'deauth', status: 'success', user, message: 'User has deauthenticated' }, laterReceivedAt),
    };
    const outcomes = [];
    for (const name of processed) outcomes.push(await processDelivery(copies[name], deps()));
    expect(outcomes.at(-1)).toMatchObject(lastOutcome);
    expect(await getUser(stack, userId)).toMatchObject({
      status: 'deauthenticated',
      active: false,
      last_event_type: 'deauth',
      ordering_ts: orderingTimestamp,
      updated_at: laterReceivedAt,
    });
  });
});

describe("two different copies from Terra's S3 destination with the same ordering_ts", () => {
  // S3's sequencer orders two writes of one key; arrival is set the other way round, so only the
  // sequencer can decide (an arrival tie-breaker would pick the earlier-sequenced copy).
  const fromS3 = (body: unknown, s3Sequencer: string, receivedAt: string): QueuedDelivery => ({
    ...queued(body, receivedAt),
    s3Sequencer: paddedSequencer(s3Sequencer),
  });
  const bothOrders = [
    ['the earlier-sequenced one first', ['earlier', 'later'], { written: 1, skipped: 0 }],
    ['the earlier-sequenced one last', ['later', 'earlier'], { written: 0, skipped: 1 }],
  ] as const;

  it.each(bothOrders)('end as the later-sequenced copy when the consumer processes %s', async (_order, processed, lastOutcome) => {
    const userId = randomUUID();
    const copies = {
      earlier: fromS3(sleepCopy(userId, 'earlier'), '0055AED6DCD90281E5', laterReceivedAt),
      later: fromS3(sleepCopy(userId, 'later'), '0055AED6DCD90281E6', earlierReceivedAt),
    };
    const outcomes = [];
    for (const name of processed) outcomes.push(await processDelivery(copies[name], deps()));
    expect(outcomes.at(-1)).toMatchObject(lastOutcome);
    expect(await getRecord(stack, userId, 'sleep#night-1')).toMatchObject({
      ordering_ts: orderingTimestamp,
      s3_sequencer: paddedSequencer('0055AED6DCD90281E6'),
      payload: { copy: 'later' },
    });
  });
});

import { randomUUID } from 'node:crypto';
import { processDelivery } from '../../lambdas/consumer/process';
import type { LocalStack } from '../../lib/local/local-stack';
import {
  consumerDependencies,
  deliver,
  drained,
  getRecord,
  scanAll,
  sleepCopy,
  startTestStack,
  userRecords,
  waitFor,
} from '../support/local';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const copyOf = async (userId: string) => ((await getRecord(stack, userId, 'sleep#night-1'))?.payload as { copy?: string })?.copy;

describe('newest wins, stale never', () => {
  it('stores a record delivered five times once: the repeats change nothing', async () => {
    const userId = randomUUID();
    const body = JSON.stringify(sleepCopy(userId, 'only'));
    expect((await deliver(stack, body, { orderingTimestamp: 1000 })).status).toBe(200);
    const first = await waitFor(() => getRecord(stack, userId, 'sleep#night-1'), 'the first copy');
    const responses = await Promise.all(Array.from({ length: 4 }, () => deliver(stack, body, { orderingTimestamp: 1000 })));
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    await drained(stack);
    expect(await userRecords(stack, userId)).toEqual([first]);
    expect(first).toMatchObject({ record_id: 'sleep#night-1', ordering_ts: 1000, payload: { copy: 'only' } });
  });

  it('replaces the stored copy with a newer one', async () => {
    const userId = randomUUID();
    await deliver(stack, sleepCopy(userId, 'first'), { orderingTimestamp: 1000 });
    await waitFor(async () => ((await copyOf(userId)) === 'first' ? true : undefined), 'the first copy');
    await deliver(stack, sleepCopy(userId, 'second'), { orderingTimestamp: 2000 });
    await waitFor(async () => ((await copyOf(userId)) === 'second' ? true : undefined), 'the newer copy');
  });

  it('never lets a late, older copy replace a newer one', async () => {
    const userId = randomUUID();
    await deliver(stack, sleepCopy(userId, 'newer'), { orderingTimestamp: 2000 });
    await waitFor(async () => ((await copyOf(userId)) === 'newer' ? true : undefined), 'the newer copy');
    expect((await deliver(stack, sleepCopy(userId, 'older'), { orderingTimestamp: 1000 })).status).toBe(200);
    await drained(stack);
    expect(await copyOf(userId)).toBe('newer');
    expect((await getRecord(stack, userId, 'sleep#night-1'))?.ordering_ts).toBe(2000);
  });

  it('orders by the signature timestamp when Terra sends no ordering timestamp', async () => {
    const userId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    await deliver(stack, sleepCopy(userId, 'newer'), { timestamp: now });
    await waitFor(async () => ((await copyOf(userId)) === 'newer' ? true : undefined), 'the newer copy');
    await deliver(stack, sleepCopy(userId, 'older'), { timestamp: now - 60 });
    await drained(stack);
    expect(await copyOf(userId)).toBe('newer');
    expect((await getRecord(stack, userId, 'sleep#night-1'))?.ordering_ts).toBe(now * 1000);
  });

  // SQS keeps no order: the consumer is called directly, so each order is the test's, not a race's.
  it.each([
    ['oldest first', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    ['newest first', [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
    ['shuffled, the newest in the middle', [7, 2, 9, 0, 5, 3, 8, 1, 6, 4]],
  ])('ends with the newest copy whatever order ten copies are processed in: %s', async (_order, order) => {
    const userId = randomUUID();
    const deps = consumerDependencies(stack);
    for (const n of order) {
      const body = Buffer.from(JSON.stringify(sleepCopy(userId, `copy-${n}`)));
      await processDelivery({ body, signatureTimestamp: 1, orderingTimestamp: 1000 + n, receivedAt: new Date().toISOString() }, deps);
    }
    expect(await copyOf(userId)).toBe('copy-9');
    expect(await userRecords(stack, userId)).toHaveLength(1);
  });

  // The path through the webhook and the queue, where the order is whatever the race makes it:
  // the forced orders above are what decide the rule; this one shows nothing is lost on the way.
  it('ends with the newest copy when ten copies are delivered concurrently through the webhook', async () => {
    const userId = randomUUID();
    const order = [7, 2, 9, 0, 5, 3, 8, 1, 6, 4];
    await Promise.all(order.map((n) => deliver(stack, sleepCopy(userId, `copy-${n}`), { orderingTimestamp: 1000 + n })));
    await drained(stack);
    expect(await copyOf(userId)).toBe('copy-9');
    expect(await userRecords(stack, userId)).toHaveLength(1);
  });

  it('keeps a repeated non-data event once: the repeats change nothing', async () => {
    const body = JSON.stringify({ type: 'healthcheck', status: 'success', creation_timestamp: randomUUID() });
    await deliver(stack, body);
    const first = await waitFor(async () => (await scanAll(stack, 'events')).find((item) => item.body === body), 'the kept event');
    await Promise.all([deliver(stack, body), deliver(stack, body)]);
    await drained(stack);
    expect((await scanAll(stack, 'events')).filter((item) => item.body === body)).toEqual([first]);
  });
});

describe('two different copies signed in the same second, without an ordering timestamp', () => {
  it('lets the later-received copy win', async () => {
    const userId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    await deliver(stack, sleepCopy(userId, 'first'), { timestamp: now });
    await waitFor(async () => ((await copyOf(userId)) === 'first' ? true : undefined), 'the first copy');
    await deliver(stack, sleepCopy(userId, 'second'), { timestamp: now });
    await waitFor(async () => ((await copyOf(userId)) === 'second' ? true : undefined), 'the later copy');
  });

  it('changes nothing when the very same body arrives again later', async () => {
    const userId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify(sleepCopy(userId, 'same'));
    await deliver(stack, body, { timestamp: now });
    const first = await waitFor(async () => getRecord(stack, userId, 'sleep#night-1'), 'the record');
    await deliver(stack, body, { timestamp: now });
    await drained(stack);
    expect(await getRecord(stack, userId, 'sleep#night-1')).toEqual(first);
  });
});

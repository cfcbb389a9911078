import { dataAttributes, eventAttributes } from '../../lambdas/shared/attributes';
import { eventItemKey, readEventItem, readRecordItem } from '../../lambdas/shared/table-items';
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { largeRequestId } from '../../lambdas/consumer/items';
import { readRecord } from '../../lambdas/shared/record-payload';
import { putObject } from '../../lambdas/shared/s3';
import type { LocalStack } from '../../lib/local/local-stack';
import { deliver, drained, getRecord, startTestStack, waitFor } from '../support/local';

/** Terra's own rules (docs/terra.md §3, §5, §6) on top of "newest wins". */

// Ping-mode downloads through a network that drops the first attempt at any URL marked "flaky".
const attempts = new Map<string, number>();
const flakyFetch: typeof fetch = async (input, init) => {
  const url = String(input);
  attempts.set(url, (attempts.get(url) ?? 0) + 1);
  if (url.includes('flaky') && attempts.get(url) === 1) throw new TypeError('fetch failed: socket hang up');
  return fetch(input, init);
};

let stack: LocalStack;
beforeAll(async () => {
  // The visibility timeout as in AWS: a Ping retry through SQS would come far too late.
  stack = await startTestStack({ fetch: flakyFetch, queue: { visibilityTimeoutSeconds: 360 } });
});
afterAll(async () => {
  await stack?.stop();
});

const user = (userId: string) => ({ user_id: userId, provider: 'WITHINGS', reference_id: 'ref', scopes: null, active: true });

function dailyEvent(userId: string, steps: number, enrichment: Record<string, unknown> | null) {
  return {
    type: 'daily',
    version: '2022-03-16',
    user: user(userId),
    data: [
      {
        metadata: { start_time: '2026-11-21T00:00:00.000000+01:00', end_time: '2026-11-22T00:00:00.000000+01:00', upload_type: 1 },
        distance_data: { steps },
        data_enrichment: enrichment,
      },
    ],
  };
}

function activityEvent(userId: string, uploadType: number, name: string) {
  return {
    type: 'activity',
    version: '2022-03-16',
    user: user(userId),
    data: [
      {
        metadata: {
          summary_id: 'run-1',
          start_time: '2026-11-21T07:00:00+01:00',
          end_time: '2026-11-21T08:00:00+01:00',
          upload_type: uploadType,
          name,
        },
      },
    ],
  };
}

async function storedDaily(userId: string, steps: number) {
  const item = await waitFor(async () => {
    const stored = await getRecord(stack, userId, 'daily#2026-11-21');
    return (stored?.payload as { distance_data?: { steps?: number } })?.distance_data?.steps === steps ? stored : undefined;
  }, `the copy with ${steps} steps`);
  return item.payload as { data_enrichment: Record<string, unknown> | null };
}

describe('data_enrichment scores that come back null do not erase stored scores', () => {
  it('keeps the stored scores when a newer copy has data_enrichment null', async () => {
    const userId = randomUUID();
    await deliver(stack, dailyEvent(userId, 1000, { total_stress_score: 41, readiness_score: 77 }), { orderingTimestamp: 1000 });
    await storedDaily(userId, 1000);
    await deliver(stack, dailyEvent(userId, 5000, null), { orderingTimestamp: 2000 });
    expect((await storedDaily(userId, 5000)).data_enrichment).toEqual({ total_stress_score: 41, readiness_score: 77 });
  });

  it('fills only the null scores and takes the new non-null ones', async () => {
    const userId = randomUUID();
    await deliver(stack, dailyEvent(userId, 1000, { total_stress_score: 41, readiness_score: 77 }), { orderingTimestamp: 1000 });
    await storedDaily(userId, 1000);
    await deliver(stack, dailyEvent(userId, 6000, { total_stress_score: null, readiness_score: 80 }), { orderingTimestamp: 2000 });
    expect((await storedDaily(userId, 6000)).data_enrichment).toEqual({ total_stress_score: 41, readiness_score: 80 });
  });

  it('still never lets an older copy in, enrichment or not', async () => {
    const userId = randomUUID();
    await deliver(stack, dailyEvent(userId, 9000, { total_stress_score: 50 }), { orderingTimestamp: 3000 });
    await storedDaily(userId, 9000);
    const before = await getRecord(stack, userId, 'daily#2026-11-21');
    await deliver(stack, dailyEvent(userId, 100, null), { orderingTimestamp: 1000 });
    await drained(stack);
    expect(await getRecord(stack, userId, 'daily#2026-11-21')).toEqual(before);
    expect((before!.payload as { data_enrichment: unknown }).data_enrichment).toEqual({ total_stress_score: 50 });
  });
});

describe('an activity deleted upstream (upload_type 4) is kept as a tombstone', () => {
  it('marks the stored record deleted and keeps its last full copy readable', async () => {
    const userId = randomUUID();
    await deliver(stack, activityEvent(userId, 1, 'Morning run'), { orderingTimestamp: 1000 });
    await waitFor(() => getRecord(stack, userId, 'activity#run-1'), 'the activity');
    await deliver(stack, activityEvent(userId, 4, 'Morning run'), { orderingTimestamp: 2000 });
    const item = await waitFor(async () => {
      const stored = await getRecord(stack, userId, 'activity#run-1');
      return stored && readRecordItem(stored).deleted ? stored : undefined;
    }, 'the tombstone');
    expect(readRecordItem(item)).toMatchObject({ deleted: true, deletedAt: expect.any(String), orderingTs: 2000 });
    expect(await readRecord(item)).toMatchObject({ metadata: { upload_type: 1, name: 'Morning run' } });
  });

  it('keeps the delete copy itself when nothing was stored before', async () => {
    const userId = randomUUID();
    await deliver(stack, activityEvent(userId, 4, 'Deleted ride'), { orderingTimestamp: 2000 });
    const item = await waitFor(() => getRecord(stack, userId, 'activity#run-1'), 'the tombstone');
    expect(readRecordItem(item).deleted).toBe(true);
    expect(await readRecord(item)).toMatchObject({ metadata: { upload_type: 4 } });
  });

  it('ignores a late delete older than the stored copy', async () => {
    const userId = randomUUID();
    await deliver(stack, activityEvent(userId, 3, 'Updated run'), { orderingTimestamp: 3000 });
    await waitFor(() => getRecord(stack, userId, 'activity#run-1'), 'the activity');
    await deliver(stack, activityEvent(userId, 4, 'x'), { orderingTimestamp: 2000 });
    await drained(stack);
    expect(await getRecord(stack, userId, 'activity#run-1')).not.toHaveProperty(dataAttributes.deleted);
  });
});

describe('a historical backfill (large_request_sending) is tracked per terra-reference', () => {
  it('counts distinct data events received against expected_payloads', async () => {
    const userId = randomUUID();
    const reference = randomUUID();
    await deliver(
      stack,
      { type: 'large_request_processing', status: 'processing', user: user(userId), reference, message: 'm' },
      { terraReference: reference },
    );
    await deliver(
      stack,
      { type: 'large_request_sending', user: user(userId), reference, message: 'm', expected_payloads: 3 },
      { terraReference: reference },
    );
    await drained(stack);
    const chunk = (day: number) => ({
      ...dailyEvent(userId, day, null),
      data: [{ ...dailyEvent(userId, day, null).data[0], metadata: { start_time: `2026-10-0${day}T00:00:00+00:00`, end_time: null } }],
    });
    await deliver(stack, chunk(1), { terraReference: reference });
    await deliver(stack, chunk(2), { terraReference: reference });
    await deliver(stack, chunk(2), { terraReference: reference }); // a redelivered chunk counts once
    await drained(stack);
    const tracker = async () =>
      (
        await stack.clients.documentClient.send(
          new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(largeRequestId(reference)), ConsistentRead: true }),
        )
      ).Item!;
    expect(readEventItem(await tracker())).toMatchObject({ type: 'large_request', reference, expectedPayloads: 3, userId });
    expect(readEventItem(await tracker()).receivedPayloads).toBe(2);
    await deliver(stack, chunk(3), { terraReference: reference });
    await drained(stack);
    expect(readEventItem(await tracker()).receivedPayloads).toBe(3);
  });
});

describe('a backfill chunk with no records (a quiet week)', () => {
  it('still counts as one of the announced payloads', async () => {
    const userId = randomUUID();
    const reference = randomUUID();
    await deliver(
      stack,
      { type: 'large_request_sending', user: user(userId), reference, message: 'm', expected_payloads: 2 },
      { terraReference: reference },
    );
    await deliver(stack, { ...dailyEvent(userId, 10, null), data: [] }, { terraReference: reference });
    await drained(stack);
    const { Item } = await stack.clients.documentClient.send(
      new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(largeRequestId(reference)), ConsistentRead: true }),
    );
    expect(readEventItem(Item!).receivedPayloads).toBe(1);
  });
});

describe('a chunk that overtakes its backfill announcement (SQS keeps no order)', () => {
  it('is counted once the announcement lands', async () => {
    const userId = randomUUID();
    const reference = randomUUID();
    const chunk = {
      ...dailyEvent(userId, 12, null),
      data: [{ ...dailyEvent(userId, 12, null).data[0], metadata: { start_time: '2026-10-12T00:00:00+00:00', end_time: null } }],
    };
    await deliver(stack, chunk, { terraReference: reference });
    await waitFor(() => getRecord(stack, userId, 'daily#2026-10-12'), 'the chunk');
    await drained(stack); // the tracker update comes after the record's write
    const tracker = async () =>
      (
        await stack.clients.documentClient.send(
          new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(largeRequestId(reference)), ConsistentRead: true }),
        )
      ).Item;
    // Not a backfill yet: no type or outcome, so the outcome index does not list it.
    expect(await tracker()).not.toHaveProperty(eventAttributes.outcome);
    await deliver(
      stack,
      { type: 'large_request_sending', user: user(userId), reference, message: 'm', expected_payloads: 1 },
      { terraReference: reference },
    );
    await drained(stack);
    const announced = readEventItem((await tracker())!);
    expect(announced).toMatchObject({ type: 'large_request', outcome: 'tracking', expectedPayloads: 1, userId, receivedPayloads: 1 });
  });
});

describe('terra-references that were never announced as a backfill', () => {
  it('stay out of the backfill listing (no outcome), with the count of what carried them', async () => {
    const userId = randomUUID();
    const reference = randomUUID();
    await deliver(stack, dailyEvent(userId, 10, null), { terraReference: reference });
    await waitFor(() => getRecord(stack, userId, 'daily#2026-11-21'), 'the record');
    await drained(stack); // the tracker update comes after the record's write
    const { Item } = await stack.clients.documentClient.send(
      new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(largeRequestId(reference)), ConsistentRead: true }),
    );
    expect(Item).not.toHaveProperty(eventAttributes.outcome);
    expect(Item).not.toHaveProperty(eventAttributes.type);
    expect(readEventItem(Item!).receivedPayloads).toBe(1);
  });
});

describe('Ping mode failures are kept, not lost', () => {
  it('keeps an s3_payload whose URL answers 403 as ping_fetch_failed, with the reason', async () => {
    const ping = {
      type: 's3_payload',
      status: 'success',
      url: `${stack.sqs.endpoint}/no-such-bucket/${randomUUID()}.json`,
      expires_in: 300,
    };
    const raw = JSON.stringify(ping);
    expect((await deliver(stack, raw)).status).toBe(200);
    const { createHash } = await import('node:crypto');
    const id = createHash('sha256').update(raw).digest('hex');
    const item = await waitFor(
      async () =>
        (await stack.clients.documentClient.send(new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(id) }))).Item,
      'the kept event',
    );
    expect(readEventItem(item)).toMatchObject({
      type: 's3_payload',
      outcome: 'ping_fetch_failed',
      reason: expect.stringMatching(/HTTP 4\d\d/),
    });
  });
});

describe('a Ping-mode download that fails once', () => {
  it('is tried again at once, within the same invocation, and the event is stored', async () => {
    const userId = randomUUID();
    const key = `flaky/${randomUUID()}.json`;
    await putObject(stack.clients.s3, `s3://${stack.bucket}/${key}`, JSON.stringify(activityEvent(userId, 1, 'Ride')));
    const url = `${stack.sqs.endpoint}/${stack.bucket}/${key}`;
    expect((await deliver(stack, { type: 's3_payload', status: 'success', url, expires_in: 300 })).status).toBe(200);
    await waitFor(() => getRecord(stack, userId, 'activity#run-1'), 'the fetched activity', 10_000);
    expect(attempts.get(url)).toBe(2);
  });
});

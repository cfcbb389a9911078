import { dataItemKey, readRecordItem } from '../../lambdas/shared/table-items';
import { readRecord } from '../../lambdas/shared/record-payload';
import { randomUUID } from 'node:crypto';
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../lib/local/local-stack';
import { parseRange, replayArchive, type ReplayTarget } from '../../lib/tools/replay';
import { deliver, drained, getRecord, getUser, scanAll, startTestStack, waitFor } from '../support/local';

/**
 * A record lost from the table comes back by replaying the raw archive, exactly as it was first
 * stored, and replaying again changes nothing: the operator's "re-run yesterday" path, end to end.
 */

const userA = randomUUID();
const userB = randomUUID();
const userC = randomUUID();
const activityId = `activity#ride-${userA.slice(0, 8)}`;
const sleepId = `sleep#night-${userB.slice(0, 8)}`;

const activity = {
  type: 'activity',
  version: '2022-03-16',
  user: { user_id: userA, provider: 'GARMIN', reference_id: 'ref-a', scopes: null, active: true },
  data: [
    {
      metadata: {
        summary_id: `ride-${userA.slice(0, 8)}`,
        start_time: '2026-11-21T07:00:00+00:00',
        end_time: '2026-11-21T08:00:00+00:00',
        upload_type: 1,
      },
      distance_data: { summary: { distance_meters: 21_500 } },
    },
  ],
};
const sleep = {
  type: 'sleep',
  version: '2022-03-16',
  user: { user_id: userB, provider: 'OURA', reference_id: 'ref-b', scopes: null, active: true },
  data: [
    {
      metadata: {
        summary_id: `night-${userB.slice(0, 8)}`,
        start_time: '2026-11-20T23:00:00+01:00',
        end_time: '2026-11-21T07:00:00+01:00',
        upload_type: 1,
      },
    },
  ],
};
const healthcheck = { type: 'healthcheck', status: 'success', creation_timestamp: randomUUID() };
// Ping mode: the consumer fetches the full event (here from a stand-in for Terra's bucket) and
// archives it as its own object, next to the s3_payload wrapper.
const pinged = {
  ...activity,
  user: { ...activity.user, user_id: userC },
  data: [{ metadata: { ...activity.data[0].metadata, summary_id: `ping-${userC.slice(0, 8)}` } }],
};
const ping = { type: 's3_payload', status: 'success', url: 'https://terra.example/payloads/ping.json', expires_in: 300 };

let stack: LocalStack;
let target: ReplayTarget;
// Around the deliveries, whenever the test runs.
const around = () => parseRange(new Date(Date.now() - 60 * 60 * 1000).toISOString(), new Date(Date.now() + 60 * 60 * 1000).toISOString());

async function archiveKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: stack.clients.s3 }, { Bucket: stack.bucket, Prefix: 'archive/' })) {
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
  }
  return keys;
}

async function queued(): Promise<number> {
  const { Attributes = {} } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.queues.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Object.values(Attributes).reduce((sum, value) => sum + Number(value), 0);
}

beforeAll(async () => {
  stack = await startTestStack({ fetch: async () => new Response(JSON.stringify(pinged)) });
  target = {
    s3: stack.clients.s3,
    sqs: stack.clients.sqs,
    bucket: stack.bucket,
    queueUrl: stack.queues.queueUrl,
    description: 'test stack',
  };
  const responses = [
    await deliver(stack, activity, { orderingTimestamp: 1_764_000_000_123, terraReference: 'ref-replay' }),
    await deliver(stack, sleep, { orderingTimestamp: 1_764_000_000_456 }),
    await deliver(stack, healthcheck),
    await deliver(stack, ping),
  ];
  expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
  await drained(stack);
});
afterAll(async () => {
  await stack?.stop();
});

describe('replay from the archive', () => {
  it('finds every delivery archived under its hour', async () => {
    const keys = await archiveKeys();
    expect(keys).toHaveLength(5);
    expect(keys.every((key) => /^archive\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{8}T\d{9}Z_/.test(key))).toBe(true);
    expect(keys.filter((key) => key.includes(`_activity_${userA}_`))).toHaveLength(1);
    expect(keys.filter((key) => key.includes(`_sleep_${userB}_`))).toHaveLength(1);
    expect(keys.filter((key) => key.includes('_healthcheck_none_'))).toHaveLength(1);
    expect(keys.filter((key) => key.includes('_s3_payload_none_'))).toHaveLength(1);
    expect(keys.filter((key) => key.includes(`_activity_${userC}_`))).toHaveLength(1);
  });

  it('lists without sending on a dry run', async () => {
    const matched: string[] = [];
    const summary = await replayArchive(target, { range: around(), dryRun: true, onMatch: (entry) => matched.push(entry.type) });
    // The wrapper is left out; the body it led to is replayed like any pushed event.
    expect(summary).toMatchObject({ scanned: 5, matched: 4, sent: 0, failed: 0, skippedPing: 1 });
    expect(matched.sort()).toEqual(['activity', 'activity', 'healthcheck', 'sleep']);
    expect(await queued()).toBe(0);
  });

  it('restores a deleted record exactly as it was, leaves others alone, and a second replay changes nothing', async () => {
    const [recordA, recordB, userItemA] = [
      await getRecord(stack, userA, activityId),
      await getRecord(stack, userB, sleepId),
      await getUser(stack, userA),
    ];
    expect(readRecordItem(recordA!)).toMatchObject({ orderingTs: 1_764_000_000_123, terraReference: 'ref-replay', form: 'map' });
    expect(await readRecord(recordA!)).toMatchObject(activity.data[0]);
    expect(recordB).toBeDefined();

    await stack.clients.documentClient.send(new DeleteCommand({ TableName: stack.tableNames.data, Key: dataItemKey(userA, activityId) }));
    expect(await getRecord(stack, userA, activityId)).toBeUndefined();

    const first = await replayArchive(target, { range: around(), userId: userA });
    expect(first).toMatchObject({ scanned: 5, matched: 1, sent: 1, failed: 0 });
    await waitFor(() => getRecord(stack, userA, activityId), 'the replayed record');
    await drained(stack);
    expect(await getRecord(stack, userA, activityId)).toEqual(recordA);
    expect(await getRecord(stack, userB, sleepId)).toEqual(recordB);
    expect(await getUser(stack, userA)).toEqual(userItemA);

    const second = await replayArchive(target, { range: around(), userId: userA });
    expect(second).toMatchObject({ matched: 1, sent: 1 });
    await drained(stack);
    expect(await getRecord(stack, userA, activityId)).toEqual(recordA);
    // A replayed delivery points into the archive already: it is not archived a second time.
    expect(await archiveKeys()).toHaveLength(5);
  });

  it('replays everything in range without duplicating records or kept events', async () => {
    const [data, events] = [await scanAll(stack, 'data'), await scanAll(stack, 'events')];
    const summary = await replayArchive(target, { range: around() });
    expect(summary).toMatchObject({ matched: 4, sent: 4, skippedPing: 1 });
    await drained(stack);
    expect(await scanAll(stack, 'data')).toEqual(data);
    expect(await scanAll(stack, 'events')).toEqual(events);
  });

  it('sends Ping-mode wrappers only when asked for by type', async () => {
    const recordC = await getRecord(stack, userC, `activity#ping-${userC.slice(0, 8)}`);
    expect(recordC).toBeDefined();
    const summary = await replayArchive(target, { range: around(), type: 's3_payload' });
    expect(summary).toMatchObject({ matched: 1, sent: 1, skippedPing: 0 });
    await drained(stack);
    expect(await getRecord(stack, userC, `activity#ping-${userC.slice(0, 8)}`)).toEqual(recordC);
    expect(await archiveKeys()).toHaveLength(5);
  });

  it('sends nothing for a range with no deliveries', async () => {
    const summary = await replayArchive(target, { range: parseRange('2020-01-01', '2020-01-02') });
    expect(summary).toEqual({ prefixes: 24, scanned: 0, matched: 0, sent: 0, failed: 0, skippedPing: 0, unrecognised: 0 });
    const earlier = await replayArchive(target, {
      range: parseRange(new Date(Date.now() - 2 * 60 * 60 * 1000).toISOString(), new Date(Date.now() - 60 * 60 * 1000).toISOString()),
    });
    expect(earlier.sent).toBe(0);
    expect(await queued()).toBe(0);
  });
});

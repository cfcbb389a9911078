import { eventAttributes } from '../../lambdas/shared/attributes';
import { eventItemKey, readEventItem } from '../../lambdas/shared/table-items';
import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryContext } from '../../lambdas/consumer/delivery-context';
import { eventId, eventPut, type EventBodyAttributes, type KeptEvent } from '../../lambdas/consumer/items';
import { s3Url } from '../../lambdas/shared/s3-url';
import type { LocalStack } from '../../lib/local/local-stack';
import {
  type ItemResult,
  keptOutcomes,
  type ReprocessSummary,
  type ReprocessTarget,
  reprocessKept,
  selectKept,
} from '../../lib/tools/reprocess/run';
import { parseWindow, runReprocessCli } from '../../lib/tools/reprocess/cli';
import { deliver, drained, getRecord, readRecordWithPayload, scanAll, startTestStack } from '../support/local';

/**
 * The acceptance item: reprocess turns bodies that an older rule kept as `unknown_type`
 * or `invalid` into records, through the current consumer, against a real local stack. The kept
 * items are written the way an older version wrote them (eventPut), then reprocessed.
 */

const [userH, userP, userI, userM, userO, userPing] = Array.from({ length: 6 }, () => randomUUID());
const user = (userId: string) => ({ user_id: userId, provider: 'GARMIN', reference_id: null, scopes: null, active: true });

const hormone = {
  type: 'hormone',
  user: user(userH),
  data: [
    { timestamp: '2026-05-07T08:00:00+02:00', lh_mIU_per_ml: 5.2 },
    { timestamp: '2026-05-08T08:00:00+02:00', lh_mIU_per_ml: 6.1 },
  ],
  version: '2022-03-16',
};
// Terra's published PlannedWorkout: no metadata, keyed by planned_workout_id.
const plannedWorkout = {
  type: 'planned_workout',
  user: user(userP),
  data: [{ planned_workout_id: 'pw-1', planned_date: '2026-11-25', details: null }],
  version: '2022-03-16',
};
// Genuinely invalid under any rule: an activity without metadata.summary_id.
const invalidActivity = {
  type: 'activity',
  user: user(userI),
  data: [{ metadata: { start_time: '2026-11-10T07:00:00+00:00', end_time: '2026-11-10T08:00:00+00:00', upload_type: 1 } }],
  version: '2022-03-16',
};
// One good record beside a bad one: an older rule kept the whole body; today the good one is stored.
const mixedActivity = {
  type: 'activity',
  user: user(userM),
  data: [
    { metadata: { summary_id: `good-${userM.slice(0, 8)}`, start_time: '2026-11-10T07:00:00+00:00', upload_type: 1 } },
    { metadata: { start_time: '2026-11-10T09:00:00+00:00' } },
  ],
  version: '2022-03-16',
};
const ride = (distance: number) => ({
  type: 'activity',
  user: user(userO),
  data: [
    {
      metadata: {
        summary_id: `ride-${userO.slice(0, 8)}`,
        start_time: '2026-11-10T07:00:00+00:00',
        end_time: '2026-11-10T08:00:00+00:00',
        upload_type: 1,
      },
      distance_data: { summary: { distance_meters: distance } },
    },
  ],
  version: '2022-03-16',
});
const olderRide = ride(10_000);
const newerRide = ride(21_500);
const rideId = `activity#ride-${userO.slice(0, 8)}`;
// Ping mode: a download that failed back then (the URL had no expiry), and works now.
const pingedSleep = {
  type: 'sleep',
  user: user(userPing),
  data: [
    {
      metadata: {
        summary_id: `night-${userPing.slice(0, 8)}`,
        start_time: '2026-11-09T23:00:00+01:00',
        end_time: '2026-11-10T07:00:00+01:00',
        upload_type: 1,
      },
    },
  ],
  version: '2022-03-16',
};
const pingWrapper = { type: 's3_payload', status: 'success', url: 'https://terra.example/payloads/night.json', expires_in: null };

const hormoneOrderingTs = 1_778_133_899_123;
const olderRideOrderingTs = Date.parse('2026-11-10T10:59:59Z');

let stack: LocalStack;
let target: ReprocessTarget;
const ids: Record<'hormone' | 'planned' | 'invalid' | 'mixed' | 'olderRide' | 'ping', string> = {
  hormone: '',
  planned: '',
  invalid: '',
  mixed: '',
  olderRide: '',
  ping: '',
};

/** Writes a kept event exactly as an older consumer's keep() did. */
async function keepAsOlderVersion(
  body: unknown,
  event: KeptEvent,
  receivedAt: string,
  extra: Partial<DeliveryContext> = {},
  attributes?: EventBodyAttributes,
) {
  const raw = Buffer.from(JSON.stringify(body));
  const orderingTs = extra.orderingTs ?? Date.parse(receivedAt) - 1000;
  const context: DeliveryContext = {
    signatureTimestamp: Math.floor(orderingTs / 1000),
    receivedAt,
    orderingTs,
    bodySha256: eventId(raw),
    ...extra,
  };
  await stack.clients.documentClient.send(new PutCommand(eventPut(stack.tableNames.events, event, raw, context, attributes)));
  return context.bodySha256;
}

/** A kept event as read, with what a reprocess sets on it. */
async function keptItem(id: string) {
  const { Item } = await stack.clients.documentClient.send(
    new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(id), ConsistentRead: true }),
  );
  return (
    Item && {
      ...readEventItem(Item),
      previousOutcome: Item[eventAttributes.previousOutcome],
      reprocessedAt: Item[eventAttributes.reprocessedAt],
    }
  );
}

async function recordAt(userId: string, recordId: string) {
  const item = await getRecord(stack, userId, recordId);
  return item && readRecordWithPayload(item);
}

const run = (options: { dryRun?: boolean; onItem?: (result: ItemResult) => void } = {}) =>
  reprocessKept(target, { outcomes: keptOutcomes, window: {}, fetch: async () => new Response(JSON.stringify(pingedSleep)), ...options });

beforeAll(async () => {
  stack = await startTestStack();
  target = {
    documentClient: stack.clients.documentClient,
    s3: stack.clients.s3,
    tableNames: stack.tableNames,
    bucket: stack.bucket,
    description: 'test stack',
  };
  ids.hormone = await keepAsOlderVersion(
    hormone,
    { type: 'hormone', outcome: 'unknown_type', reason: 'event type "hormone" is not known to this version', userId: userH },
    '2026-05-07T06:05:00.000Z',
    { orderingTs: hormoneOrderingTs, terraReference: 'ref-hormone', traceId: 'trace-hormone' },
  );
  ids.planned = await keepAsOlderVersion(
    plannedWorkout,
    {
      type: 'planned_workout',
      outcome: 'invalid',
      reason: 'data.0.metadata: Invalid input: expected object, received undefined',
      userId: userP,
    },
    '2026-11-10T09:00:00.000Z',
  );
  ids.invalid = await keepAsOlderVersion(
    invalidActivity,
    {
      type: 'activity',
      outcome: 'invalid',
      reason: 'data.0.metadata.summary_id: Invalid input: expected string, received undefined',
      userId: userI,
    },
    '2026-11-10T10:00:00.000Z',
  );
  ids.mixed = await keepAsOlderVersion(
    mixedActivity,
    {
      type: 'activity',
      outcome: 'invalid',
      reason: 'data.1.metadata.summary_id: Invalid input: expected string, received undefined',
      userId: userM,
    },
    '2026-11-10T10:30:00.000Z',
  );
  // An older copy an older rule refused, while a newer copy of the same ride came through since.
  ids.olderRide = await keepAsOlderVersion(
    olderRide,
    { type: 'activity', outcome: 'invalid', reason: 'data.0.device_data: required by an older rule', userId: userO },
    '2026-11-10T11:00:00.000Z',
    { orderingTs: olderRideOrderingTs },
  );
  ids.ping = await keepAsOlderVersion(
    pingWrapper,
    { type: 's3_payload', outcome: 'ping_fetch_failed', reason: 'HTTP 503' },
    '2026-11-10T12:00:00.000Z',
  );
  expect((await deliver(stack, newerRide, { orderingTimestamp: olderRideOrderingTs + 60_000 })).status).toBe(200);
  await drained(stack);
  expect(await recordAt(userO, rideId)).toMatchObject({ orderingTs: olderRideOrderingTs + 60_000, payload: newerRide.data[0] });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe('selecting kept events', () => {
  const selected = async (options: Partial<Parameters<typeof selectKept>[1]>) =>
    (await selectKept(target, { outcomes: keptOutcomes, window: {}, ...options })).map((entry) => entry.eventId).sort();

  it('selects all three kept outcomes by default, and one with --outcome', async () => {
    expect(await selected({})).toEqual(Object.values(ids).sort());
    expect(await selected({ outcomes: ['unknown_type'] })).toEqual([ids.hormone]);
    expect(await selected({ outcomes: ['ping_fetch_failed'] })).toEqual([ids.ping]);
  });

  it('filters on type', async () => {
    expect(await selected({ type: 'activity' })).toEqual([ids.invalid, ids.mixed, ids.olderRide].sort());
  });

  it('filters on received_at: a date --to takes in the whole day, a time --to that instant', async () => {
    expect(await selected({ window: parseWindow('2026-11-10', '2026-11-10') })).toEqual(
      [ids.planned, ids.invalid, ids.mixed, ids.olderRide, ids.ping].sort(),
    );
    expect(await selected({ window: parseWindow(undefined, '2026-11-10T10:00:00Z') })).toEqual(
      [ids.hormone, ids.planned, ids.invalid].sort(),
    );
    expect(await selected({ window: parseWindow('2026-11-10T10:00:00.001Z', undefined) })).toEqual(
      [ids.mixed, ids.olderRide, ids.ping].sort(),
    );
  });
});

describe('a dry run', () => {
  it('says what each body would become and writes nothing', async () => {
    const [data, events] = [await scanAll(stack, 'data'), await scanAll(stack, 'events')];
    const results: ItemResult[] = [];
    const summary = await run({ dryRun: true, onItem: (result) => results.push(result) });
    const byId = new Map(results.map((result) => [result.entry.eventId, result]));
    expect(summary).toMatchObject({ selected: 6, updated: 0, recordsWritten: 0, failures: [] });
    expect(byId.get(ids.invalid)).toMatchObject({ status: 'dry_run', outcome: 'invalid' });
    expect(byId.get(ids.mixed)).toMatchObject({
      status: 'dry_run',
      outcome: 'invalid',
      reason:
        'would store 1 activity record; still kept: 1 of 2 records refused: data.1.metadata.summary_id: a non-empty string is required',
    });
    expect(byId.get(ids.olderRide)).toMatchObject({ status: 'dry_run', outcome: 'reprocessed', reason: 'would store 1 activity record' });
    expect(byId.get(ids.ping)).toMatchObject({ status: 'dry_run', outcome: 'ping_fetch_failed', change: 'unchanged' });
    expect(byId.get(ids.hormone)).toMatchObject({ status: 'dry_run', outcome: 'reprocessed', reason: 'would store 2 hormone records' });
    expect(byId.get(ids.planned)).toMatchObject({
      status: 'dry_run',
      outcome: 'reprocessed',
      reason: 'would store 1 planned_workout record',
    });
    expect(await scanAll(stack, 'data')).toEqual(data);
    expect(await scanAll(stack, 'events')).toEqual(events);
  });
});

describe('a run', () => {
  let summary: ReprocessSummary;
  beforeAll(async () => {
    summary = await run();
  }, 60_000);

  it('fails no item', () => {
    expect(summary.failures).toEqual([]);
    expect(summary.selected).toBe(6);
  });

  it('stores each hormone sample as hormone#<timestamp>, with the kept delivery ordering key and reference', async () => {
    for (const sample of hormone.data) {
      expect(await recordAt(userH, `hormone#${sample.timestamp}`)).toMatchObject({
        type: 'hormone',
        payload: sample,
        orderingTs: hormoneOrderingTs,
        receivedAt: '2026-05-07T06:05:00.000Z',
        terraReference: 'ref-hormone',
      });
    }
  });

  it('stores a planned workout as planned_workout#<planned_workout_id>', async () => {
    expect(await recordAt(userP, 'planned_workout#pw-1')).toMatchObject({
      type: 'planned_workout',
      payload: plannedWorkout.data[0],
    });
  });

  it('marks the kept items that became records reprocessed, with previous_outcome', async () => {
    expect(await keptItem(ids.hormone)).toMatchObject({
      outcome: 'reprocessed',
      previousOutcome: 'unknown_type',
      reason: 'stored 2 hormone records',
    });
    expect(await keptItem(ids.planned)).toMatchObject({
      outcome: 'reprocessed',
      previousOutcome: 'invalid',
      reason: 'stored 1 planned_workout record',
    });
    expect((await keptItem(ids.hormone))?.reprocessedAt).toEqual(expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/));
  });

  it('leaves a genuinely invalid body invalid, with the current reason', async () => {
    const item = await keptItem(ids.invalid);
    expect(item).toMatchObject({ outcome: 'invalid', previousOutcome: 'invalid', reason: expect.stringContaining('summary_id') });
    expect(item?.reason).not.toBe('data.0.metadata.summary_id: Invalid input: expected string, received undefined');
    expect(await getRecord(stack, userI, 'activity#undefined')).toBeUndefined();
  });

  it('stores the good record of a body with one bad record, which stays invalid naming the bad one', async () => {
    expect(await recordAt(userM, `activity#good-${userM.slice(0, 8)}`)).toMatchObject({ payload: mixedActivity.data[0] });
    expect(await keptItem(ids.mixed)).toMatchObject({
      outcome: 'invalid',
      previousOutcome: 'invalid',
      reason: '1 of 2 records refused: data.1.metadata.summary_id: a non-empty string is required',
    });
  });

  it('never replaces a newer stored copy with an older kept body', async () => {
    expect(await recordAt(userO, rideId)).toMatchObject({ orderingTs: olderRideOrderingTs + 60_000, payload: newerRide.data[0] });
    expect(await keptItem(ids.olderRide)).toMatchObject({
      outcome: 'reprocessed',
      previousOutcome: 'invalid',
      reason: 'stored 0 activity records; 1 left as stored (a copy as new or newer was already there)',
    });
  });

  it('fetches a Ping-mode payload that failed before and stores what it holds', async () => {
    expect(await recordAt(userPing, `sleep#night-${userPing.slice(0, 8)}`)).toMatchObject({ payload: pingedSleep.data[0] });
    expect(await keptItem(ids.ping)).toMatchObject({
      outcome: 'reprocessed',
      previousOutcome: 'ping_fetch_failed',
      reason: 'Ping-mode payload fetched: stored 1 sleep record',
    });
  });

  it('counts outcome before → after and the records written', () => {
    expect(summary.transitions).toEqual({
      'invalid → invalid': 2,
      'invalid → reprocessed': 2,
      'ping_fetch_failed → reprocessed': 1,
      'unknown_type → reprocessed': 1,
    });
    // 2 hormone samples, 1 planned workout, 1 good activity, 1 sleep; the older ride is left alone.
    expect(summary).toMatchObject({ updated: 6, recordsWritten: 5, recordsLeftAlone: 1 });
  });
});

describe('a second run', () => {
  it('finds only what is still kept and changes nothing', async () => {
    const [data, events] = [await scanAll(stack, 'data'), await scanAll(stack, 'events')];
    const summary = await run();
    expect(summary).toMatchObject({
      selected: 2,
      updated: 0,
      recordsWritten: 0,
      failures: [],
      transitions: { 'invalid → invalid (unchanged)': 2 },
    });
    expect(await scanAll(stack, 'data')).toEqual(data);
    expect(await scanAll(stack, 'events')).toEqual(events);
  });
});

describe('the command', () => {
  const cli = async (...argv: string[]) => {
    const lines: string[] = [];
    const env = { DYNAMODB_PORT: String(stack.dynamoDb.port), SQS_PORT: String(stack.sqs.port) };
    const code = await runReprocessCli(argv, { env, write: (line) => lines.push(line) });
    return { code, output: lines.join('\n') };
  };

  it('finds the local stack by its ports and prints the summary', async () => {
    const { code, output } = await cli();
    expect(code).toBe(0);
    expect(output).toContain(`local stack (http://127.0.0.1:${stack.dynamoDb.port})`);
    expect(output).toMatch(/invalid → invalid \(unchanged\) +2/);
    expect(output).toMatch(/Records written: 0/);
  });

  it('exits 1 listing an item it could not read, with what to do next', async () => {
    const missing = await keepAsOlderVersion(
      { type: 'sleep', note: 'its body went missing' },
      { type: 'sleep', outcome: 'invalid', reason: 'kept in S3' },
      '2026-11-11T00:00:00.000Z',
      {},
      { [eventAttributes.bodyS3]: s3Url(stack.bucket, 'events/no-such-object') },
    );
    try {
      const { code, output } = await cli('--type', 'sleep');
      expect(code).toBe(1);
      expect(output).toContain(`Failed: 1 (these items are unchanged):\n  ${missing}  invalid  sleep:`);
      expect(output).toContain('run the\nsame command again');
      expect(await keptItem(missing)).toMatchObject({ outcome: 'invalid', reason: 'kept in S3' });
    } finally {
      await stack.clients.documentClient.send(new DeleteCommand({ TableName: stack.tableNames.events, Key: eventItemKey(missing) }));
    }
  });

  it('refuses an outcome it does not reprocess, with exit 2', async () => {
    const { code, output } = await cli('--outcome', 'recorded');
    expect(code).toBe(2);
    expect(output).toContain('--outcome must be one of invalid, unknown_type, ping_fetch_failed, got "recorded"');
  });
});

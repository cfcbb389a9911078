import { eventAttributes } from '../../lambdas/shared/attributes';
import { eventItemKey, readEventItem, readRecordItem } from '../../lambdas/shared/table-items';
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { eventId } from '../../lambdas/consumer/items';
import { readRecord } from '../../lambdas/shared/record-payload';
import type { LocalStack } from '../../lib/local/local-stack';
import { dataEvent, terraUser, withingsDailyRecord } from '../../lib/tools/fixtures';
import { deliver, drained, getRecord, readRecordWithPayload, startTestStack, userRecords, waitFor } from '../support/local';

/** Terra's newer types, and a delivery with one bad record, end where the data contract says. */

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const user = (userId: string, provider = 'GARMIN') => ({ user_id: userId, provider, reference_id: 'me-1', scopes: null, active: true });

async function keptEvent(raw: string) {
  return waitFor(async () => {
    const { Item } = await stack.clients.documentClient.send(
      new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(eventId(Buffer.from(raw))), ConsistentRead: true }),
    );
    return Item;
  }, 'the kept event');
}

describe("Terra's newer event types", () => {
  it('stores a planned workout under its planned_workout_id, exactly as sent', async () => {
    const workout = {
      planned_workout_id: `pw-${randomUUID()}`,
      planned_date: '2026-11-25',
      workout_id: null,
      is_external: false,
      details: null,
      brand_new: { x: 1 },
    };
    const event = { type: 'planned_workout', user: user('u-pw'), data: [workout], version: '2022-03-16' };
    expect((await deliver(stack, event)).status).toBe(200);
    const item = await waitFor(() => getRecord(stack, 'u-pw', `planned_workout#${workout.planned_workout_id}`), 'the planned workout');
    expect(readRecordWithPayload(item)).toMatchObject({ type: 'planned_workout', startTime: '2026-11-25', payload: workout });
  });

  it('stores each hormone sample as a record of its own', async () => {
    const data = [
      { timestamp: '2026-05-07T08:00:00+02:00', lh_mIU_per_ml: 5.2, e3g_ng_per_ml: 108.5 },
      { timestamp: '2026-05-08T08:00:00+02:00', lh_mIU_per_ml: null, pdg_ug_per_ml: 2.4 },
    ];
    expect((await deliver(stack, { type: 'hormone', user: user('u-hormone', 'OOVA'), data, version: '2022-03-16' })).status).toBe(200);
    for (const sample of data) {
      const item = await waitFor(() => getRecord(stack, 'u-hormone', `hormone#${sample.timestamp}`), `hormone ${sample.timestamp}`);
      expect(item.payload).toEqual(sample);
    }
  });

  it('stores a health observation under its summary_id', async () => {
    const observation = {
      metadata: { summary_id: '7C3A5D9E-1F42-4B5A-9C1D-2E8F0A6B4C3D', start_time: '2026-11-21T10:00:00.000000+01:00', end_time: null },
      observation_data: { category: 'symptom', value: 'headache' },
    };
    const event = { type: 'health_observation', user: user('u-obs', 'APPLE'), data: [observation], version: '2022-03-16' };
    expect((await deliver(stack, event)).status).toBe(200);
    const item = await waitFor(() => getRecord(stack, 'u-obs', `health_observation#${observation.metadata.summary_id}`), 'the observation');
    expect(readRecordWithPayload(item)).toMatchObject({ summaryId: observation.metadata.summary_id, payload: observation });
  });

  it.each([
    ['lab_report.completed', { session_id: '297405620317847552', reference_id: 'patient-123', results_count: 0, results: [] }],
    [
      'lab_report.failed',
      { session_id: '297405620317847553', reference_id: 'patient-123', error: { code: 'file_unreadable', retriable: false } },
    ],
  ])('keeps %s as recorded, with its session and reference as attributes', async (type, data) => {
    const raw = JSON.stringify({ type, event_id: `evt_${randomUUID()}`, occurred_at: '2026-07-01T09:12:33Z', data });
    expect((await deliver(stack, raw)).status).toBe(200);
    const item = await keptEvent(raw);
    expect(readEventItem(item)).toMatchObject({ type, outcome: 'recorded' });
    expect(item).toMatchObject({ [eventAttributes.sessionId]: data.session_id, [eventAttributes.referenceId]: 'patient-123' });
    expect(item[eventAttributes.userId]).toBeUndefined();
  });
});

describe('one bad record no longer sinks the delivery', () => {
  it('a 30-day daily backfill with one bad day stores the other 29 and keeps the delivery as invalid, naming the day', async () => {
    const terra = terraUser({ userId: `u-backfill-${randomUUID()}`, provider: 'WITHINGS' });
    const days = Array.from({ length: 30 }, (_, index) =>
      withingsDailyRecord({ user: terra, date: `2026-10-${String(index + 1).padStart(2, '0')}`, seed: 'backfill' }),
    );
    const bad = 17;
    const broken = { ...days[bad], metadata: { ...days[bad].metadata, start_time: null } };
    const event = dataEvent('daily', terra, [...days.slice(0, bad), broken, ...days.slice(bad + 1)]);
    const raw = JSON.stringify(event);
    expect((await deliver(stack, raw)).status).toBe(200);
    const kept = readEventItem(await keptEvent(raw));
    expect(kept).toMatchObject({ outcome: 'invalid', type: 'daily', userId: terra.user_id });
    expect(kept.reason).toMatch(/^1 of 30 records refused: data\.17\.metadata\.start_time/);
    await drained(stack);
    const stored = await userRecords(stack, terra.user_id);
    expect(stored.map((item) => readRecordItem(item).recordId).sort()).toEqual(
      days
        .filter((_, index) => index !== bad)
        .map((day) => `daily#${day.metadata.start_time.slice(0, 10)}`)
        .sort(),
    );
    // A day of samples is stored gzipped (defaults.recordMapMaxBytes); readRecord reads either form.
    for (const item of stored)
      expect(await readRecord(item, stack.clients.s3)).toEqual(
        days.find((day) => `daily#${day.metadata.start_time.slice(0, 10)}` === readRecordItem(item).recordId),
      );
  }, 60_000);
});

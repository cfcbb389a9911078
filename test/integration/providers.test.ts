import type { LocalStack } from '../../lib/local/local-stack';
import { simulationScenario } from '../../lib/tools/fixtures';
import { readRecord } from '../../lambdas/shared/record-payload';
import { readRecordItem, readUserItem } from '../../lambdas/shared/table-items';
import { deliver, drained, getUser, startTestStack, userRecords } from '../support/local';

/** Every provider of the product brief, every type it sends, through the whole local pipeline. */

const scenario = simulationScenario({ now: Date.parse('2026-11-22T12:00:00Z'), seed: 'providers-test' });
const sentRecords = new Map<string, unknown[]>();
for (const { body } of scenario.deliveries) {
  const event = body as { type: string; user?: { user_id: string }; data?: unknown[] };
  if (event.user && Array.isArray(event.data)) sentRecords.set(`${event.user.user_id}/${event.type}`, event.data);
}

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
  for (const { name, body } of scenario.deliveries) {
    const response = await deliver(stack, body);
    if (response.status !== 200) throw new Error(`${name} answered ${response.status}`);
  }
  await drained(stack, 30_000);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const byId = (items: Record<string, unknown>[]) => new Map(items.map((item) => [readRecordItem(item).recordId, item]));

describe('every provider and type is stored, whole', () => {
  it('Dexcom: one body record per local day with the whole CGM day', async () => {
    const records = byId(await userRecords(stack, scenario.userIds.dexcom));
    const [sent] = sentRecords.get(`${scenario.userIds.dexcom}/body`) as { metadata: { start_time: string } }[];
    const stored = records.get(`body#${sent.metadata.start_time.slice(0, 10)}`);
    expect(readRecordItem(stored!)).toMatchObject({ type: 'body', provider: 'DEXCOM', startTime: sent.metadata.start_time });
    const payload = (await readRecord(stored!)) as { glucose_data: { blood_glucose_samples: unknown[] } };
    expect(payload.glucose_data.blood_glucose_samples).toHaveLength(288);
    expect(payload).toEqual(sent);
  });

  it.each(['xert', 'xoss'] as const)('%s: the activity with every heart-rate sample, keyed on summary_id', async (key) => {
    const userId = scenario.userIds[key];
    const [sent] = sentRecords.get(`${userId}/activity`) as { metadata: { summary_id: string } }[];
    const stored = byId(await userRecords(stack, userId)).get(`activity#${sent.metadata.summary_id}`);
    expect(readRecordItem(stored!)).toMatchObject({ type: 'activity', provider: key.toUpperCase(), summaryId: sent.metadata.summary_id });
    expect(await readRecord(stored!)).toEqual(sent);
  });

  it('Xert: a record too large for one DynamoDB item is kept compressed and reads back equal', async () => {
    const userId = scenario.userIds.xert;
    const [sent] = sentRecords.get(`${userId}/activity`) as { metadata: { summary_id: string } }[];
    expect(Buffer.byteLength(JSON.stringify(sent))).toBeGreaterThan(400 * 1024);
    const stored = byId(await userRecords(stack, userId)).get(`activity#${sent.metadata.summary_id}`)!;
    expect(readRecordItem(stored).form).toBe('gzip');
    expect(await readRecord(stored)).toEqual(sent);
  });

  it('Withings: activity, body, daily, sleep and the athlete profile', async () => {
    const userId = scenario.userIds.withings;
    const items = await userRecords(stack, userId);
    const records = items.map(readRecordItem);
    expect(records.map((record) => record.type).sort()).toEqual(['activity', 'athlete', 'body', 'daily', 'sleep']);
    for (const type of ['activity', 'body', 'daily', 'sleep']) {
      const stored = items[records.findIndex((record) => record.type === type)]!;
      expect(await readRecord(stored)).toEqual(sentRecords.get(`${userId}/${type}`)?.[0]);
    }
    expect(records.find((record) => record.type === 'athlete')?.recordId).toBe('athlete#profile');
  });

  it('connections: every provider user is connected, the throwaway one deauthenticated', async () => {
    for (const key of ['dexcom', 'xert', 'xoss', 'withings'] as const) {
      expect(readUserItem((await getUser(stack, scenario.userIds[key]))!)).toMatchObject({ status: 'connected', active: true });
    }
    expect(readUserItem((await getUser(stack, scenario.userIds.throwaway))!)).toMatchObject({ status: 'deauthenticated', active: false });
  });
});

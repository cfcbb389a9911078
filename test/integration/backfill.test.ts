import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { readRecord } from '../../lambdas/shared/record-payload';
import { readEventItem, readRecordItem } from '../../lambdas/shared/table-items';
import type { LocalStack } from '../../lib/local/local-stack';
import { runBackfillCli } from '../../lib/tools/backfill/cli';
import { drained, scanAll, startTestStack } from '../support/local';

/**
 * `npm run backfill` against the local stand-in of Terra's REST API, end to end: the real CLI
 * asks the stand-in, which delivers through the local webhook as Terra would, and the consumer
 * stores what arrives. What should arrive is asked of the stand-in itself, synchronously, window
 * by window, and compared record id by record id.
 */

const DAY_MS = 86_400_000;
const day = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY_MS).toISOString().slice(0, 10);

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ terraApiPort: 0 });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

async function backfill(...argv: string[]) {
  const lines: string[] = [];
  const code = await runBackfillCli(argv, {
    env: { TERRA_API_URL: stack.terraApiUrl, DYNAMODB_PORT: String(stack.dynamoDb.port), SQS_PORT: String(stack.sqs.port) },
    write: (line) => lines.push(line),
    sleep: (ms) => sleep(ms),
    retry: { baseDelayMs: 10, maxDelayMs: 20 },
    pollMs: 100,
    // An unannounced request (29–31 days: one data event) counts as complete after this quiet time.
    graceMs: 500,
  });
  return { code, output: lines.join('\n') };
}

const faults = (body: unknown) =>
  fetch(`${stack.terraApiUrl}/_stand-in/faults`, { method: 'POST', body: JSON.stringify(body) }).then((response) => response.json());

type StandInRecord = { metadata: { summary_id: string; start_time: string } };
/** Terra's identifiers (docs/README data model): activity by summary_id, daily by its day. */
const idOf: Record<string, (record: StandInRecord) => string> = {
  activity: (record) => `activity#${record.metadata.summary_id}`,
  daily: (record) => `daily#${record.metadata.start_time.slice(0, 10)}`,
};

/** The record ids the stand-in holds for a user and type over [from, to], asked synchronously, ≤ 28 days at a time. */
async function expectedIds(userId: string, type: 'activity' | 'daily', fromDaysAgo: number, toDaysAgo: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = fromDaysAgo; start >= toDaysAgo; start -= 28) {
    const end = Math.max(toDaysAgo, start - 27);
    const url = `${stack.terraApiUrl}/${type}?user_id=${userId}&start_date=${day(start)}&end_date=${day(end - 1)}&to_webhook=false`;
    const answer = (await (await fetch(url, { headers: { 'dev-id': 'test', 'x-api-key': 'test' } })).json()) as { data: StandInRecord[] };
    ids.push(...answer.data.map(idOf[type]!));
  }
  return ids.sort();
}

/** Every record stored for the user, read (a scan: a backfill's records may outgrow one page of a query). */
const storedRecords = async (userId: string) =>
  (await scanAll(stack, 'data')).map((item) => ({ item, record: readRecordItem(item) })).filter(({ record }) => record.userId === userId);

const storedIds = async (userId: string, type: string) =>
  (await storedRecords(userId))
    .map(({ record }) => record.recordId)
    .filter((recordId) => recordId.startsWith(`${type}#`))
    .sort();

afterEach(async () => {
  await faults({});
});

test('a three-month activity backfill arrives whole through a 429 and shuffled chunks; --wait exits 0 after each window', async () => {
  const userId = `backfill-${randomUUID()}`;
  await faults({ status: 429, count: 1, retryAfterSeconds: 1, shuffleChunks: true });
  const { code, output } = await backfill(
    '--user',
    userId,
    '--type',
    'activity',
    '--from',
    day(91),
    '--to',
    day(1),
    '--wait',
    '--timeout',
    '120',
  );

  expect(output).toContain(`Terra API: ${stack.terraApiUrl} (TERRA_API_URL)`);
  expect(output).toMatch(/HTTP 429 too many requests.*retry 2 of 6 in 1 s \(as Terra asked\)/);
  expect(output).toMatch(/Outcome per window:\n {2}activity \S+\.\.\S+ \(91 days, async\): complete: (\d+) of \1 payloads received/);
  expect(code).toBe(0);
  // The tracker said complete: every record the stand-in holds for those days is stored, once.
  const expected = await expectedIds(userId, 'activity', 91, 1);
  expect(expected.length).toBeGreaterThan(60);
  expect(await storedIds(userId, 'activity')).toEqual(expected);
}, 180_000);

test('a range within 28 days is asked synchronously and stored through the queue, ordered by the time of the request', async () => {
  const userId = `backfill-${randomUUID()}`;
  const before = Date.now();
  const { code, output } = await backfill('--user', userId, '--type', 'daily', '--from', day(14), '--to', day(1));
  expect(output).toMatch(/daily \S+ \(14 days, sync\): 14 records enqueued for the consumer/);
  expect(code).toBe(0);
  await drained(stack, 60_000);
  const records = (await storedRecords(userId)).map(({ record }) => record);
  expect(records.map((record) => record.recordId).sort()).toEqual(await expectedIds(userId, 'daily', 14, 1));
  for (const record of records) expect(record.orderingTs).toBeGreaterThanOrEqual(before);
}, 120_000);

test('--type all stores every type, the athlete profile included, from synchronous answers without a version field', async () => {
  const userId = `backfill-${randomUUID()}`;
  const { code, output } = await backfill('--user', userId, '--type', 'all', '--from', day(3), '--to', day(1));
  expect(output).toMatch(/athlete profile \(sync\): 1 record enqueued for the consumer/);
  expect(code).toBe(0);
  await drained(stack, 60_000);
  const stored = await storedRecords(userId);
  const perType = new Map<string, number>();
  for (const { record } of stored) perType.set(record.type, (perType.get(record.type) ?? 0) + 1);
  expect(Object.fromEntries(perType)).toEqual({ activity: 3, body: 3, daily: 3, sleep: 3, menstruation: 3, nutrition: 3, athlete: 1 });
  const athlete = stored.find(({ record }) => record.recordId === 'athlete#profile');
  expect(athlete && (await readRecord(athlete.item, stack.clients.s3))).toMatchObject({ first_name: expect.any(String) });
  // Nothing was kept as invalid or unknown: each answer routed on its `type`.
  const kept = (await scanAll(stack, 'events')).filter((item) => readEventItem(item).userId === userId);
  expect(kept).toEqual([]);
}, 120_000);

test('a 30-day range comes as one unannounced data event; --wait counts it complete once it arrived and nothing followed', async () => {
  const userId = `backfill-${randomUUID()}`;
  const { code, output } = await backfill(
    '--user',
    userId,
    '--type',
    'daily',
    '--from',
    day(30),
    '--to',
    day(1),
    '--wait',
    '--timeout',
    '60',
  );
  expect(output).toMatch(/daily \S+ \(30 days, async\): complete: 1 payload received, none announced/);
  expect(code).toBe(0);
  expect(await storedIds(userId, 'daily')).toEqual(await expectedIds(userId, 'daily', 30, 1));
}, 120_000);

test('a window that keeps failing is listed with the exact command that retries it, and the run exits non-zero', async () => {
  const userId = `backfill-${randomUUID()}`;
  await faults({ status: 503, count: 100 });
  const { code, output } = await backfill('--user', userId, '--type', 'sleep', '--from', day(10), '--to', day(1));
  expect(code).toBe(1);
  expect(output).toMatch(/sleep \S+ \(10 days, sync\): FAILED: HTTP 503 .*gave up after 6 tries/);
  expect(output).toContain(`Retry each with:\n  npm run backfill -- --user ${userId} --type sleep --from ${day(10)} --to ${day(1)}`);
  expect(await storedIds(userId, 'sleep')).toEqual([]);
}, 120_000);

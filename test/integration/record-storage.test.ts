import { randomUUID } from 'node:crypto';
import { processDelivery } from '../../lambdas/consumer/process';
import { defaults } from '../../lambdas/shared/definitions';
import { readRecord } from '../../lambdas/shared/record-payload';
import { recordForm } from '../../lambdas/shared/table-items';
import type { LocalStack } from '../../lib/local/local-stack';
import { getRecord, startTestStack } from '../support/local';

/**
 * Readable map or gzip (records.ts): a record whose JSON is larger than the setting
 * (RECORD_MAP_MAX_BYTES, stack prop recordMapMaxBytes; defaults.recordMapMaxBytes) is stored
 * gzipped, one within it as a map; either reads back as sent.
 */

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** A sleep record whose JSON is exactly `bytes` long. */
function sleepOfSize(summaryId: string, bytes: number) {
  const record = {
    metadata: { summary_id: summaryId, start_time: '2026-11-21T22:00:00.000000+00:00', end_time: '2026-11-22T06:00:00.000000+00:00' },
    note: '',
  };
  record.note = 'x'.repeat(bytes - JSON.stringify(record).length);
  return record;
}

async function store(userId: string, records: unknown[], recordMapMaxBytes?: number) {
  const body = Buffer.from(JSON.stringify({ type: 'sleep', user: { user_id: userId, provider: 'WITHINGS' }, data: records }));
  const deps = {
    documentClient: stack.clients.documentClient,
    tables: stack.tableNames,
    s3: stack.clients.s3,
    bucket: stack.bucket,
    recordMapMaxBytes,
  };
  await processDelivery({ body, signatureTimestamp: Math.floor(Date.now() / 1000), receivedAt: new Date().toISOString() }, deps);
}

const storageOf = (item: Record<string, unknown> | undefined) => (item ? recordForm(item) : 'none');

test('a record within defaults.recordMapMaxBytes is a map, one a byte larger is gzipped; both read back as sent', async () => {
  const userId = randomUUID();
  const within = sleepOfSize('within', defaults.recordMapMaxBytes);
  const over = sleepOfSize('over', defaults.recordMapMaxBytes + 1);
  await store(userId, [within, over]);
  const [storedWithin, storedOver] = [await getRecord(stack, userId, 'sleep#within'), await getRecord(stack, userId, 'sleep#over')];
  expect([storageOf(storedWithin), storageOf(storedOver)]).toEqual(['map', 'gzip']);
  expect(await readRecord(storedWithin!, stack.clients.s3)).toEqual(within);
  expect(await readRecord(storedOver!, stack.clients.s3)).toEqual(over);
});

test('recordMapMaxBytes moves the line: 300 KiB keeps a 100 KB record a readable map', async () => {
  const userId = randomUUID();
  const large = sleepOfSize('large', 100_000);
  await store(userId, [large], 300 * 1024);
  const stored = await getRecord(stack, userId, 'sleep#large');
  expect(storageOf(stored)).toBe('map');
  expect(await readRecord(stored!, stack.clients.s3)).toEqual(large);
});

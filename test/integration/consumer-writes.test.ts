import { eventAttributes } from '../../lambdas/shared/attributes';
import { eventItemKey } from '../../lambdas/shared/table-items';
import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { archiveIndexPrefix } from '../../lambdas/consumer/archive';
import { largeRequestId } from '../../lambdas/consumer/items';
import { type ConsumerDependencies, processDelivery } from '../../lambdas/consumer/process';
import type { QueuedDelivery } from '../../lambdas/shared/delivery';
import { readRecord } from '../../lambdas/shared/record-payload';
import type { LocalStack } from '../../lib/local/local-stack';
import { getRecord, startTestStack } from '../support/local';

/**
 * How one delivery's writes go (process.ts, records.ts): a record with null scores is put before
 * anything is read; the archive, the records and a backfill's count run side by side, and the
 * delivery is over, failed or not, only once every one of them has settled. The consumer is
 * called directly, on dynalite and fauxqs, through clients that count, slow down or refuse calls.
 */

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

interface Observed {
  /** Commands sent, by name (`GetCommand`, `PutObjectCommand` …). */
  sent: string[];
  /** Calls started and not yet settled. */
  inFlight: number;
}

/**
 * The real client, counting its calls; `before` runs ahead of each call and may throw (a refusal)
 * or wait (a slow service).
 */
function observed<T extends DynamoDBDocumentClient | S3Client>(
  client: T,
  observation: Observed,
  before: (command: { constructor: { name: string }; input: Record<string, unknown> }) => Promise<void> = async () => {},
): T {
  const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: { constructor: { name: string }; input: Record<string, unknown> }, ...rest: unknown[]) => {
        observation.sent.push(command.constructor.name);
        observation.inFlight++;
        try {
          await before(command);
          return await send(command, ...rest);
        } finally {
          observation.inFlight--;
        }
      };
    },
  });
}

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 150));
const throttled = () =>
  Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
const slowDown = () =>
  Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });

function deps(options: { documentClient?: DynamoDBDocumentClient; s3?: S3Client } = {}): ConsumerDependencies {
  return {
    documentClient: options.documentClient ?? stack.clients.documentClient,
    tables: stack.tableNames,
    s3: options.s3 ?? stack.clients.s3,
    bucket: stack.bucket,
  };
}

const dailyRecord = (steps: number, enrichment: Record<string, unknown> | null) => ({
  metadata: { start_time: '2026-11-21T00:00:00.000000+01:00', end_time: '2026-11-22T00:00:00.000000+01:00', upload_type: 1 },
  distance_data: { steps },
  data_enrichment: enrichment,
});

function daily(
  userId: string,
  steps: number,
  enrichment: Record<string, unknown> | null,
  orderingTimestamp: number,
  terraReference?: string,
): QueuedDelivery {
  const body = {
    type: 'daily',
    version: '2022-03-16',
    user: { user_id: userId, provider: 'WITHINGS', reference_id: 'ref' },
    data: [dailyRecord(steps, enrichment)],
  };
  return {
    body: Buffer.from(JSON.stringify(body)),
    signatureTimestamp: Math.floor(orderingTimestamp / 1000),
    orderingTimestamp,
    receivedAt: new Date(orderingTimestamp).toISOString(),
    ...(terraReference && { terraReference }),
  };
}

const storedDaily = async (userId: string) => {
  const item = await getRecord(stack, userId, 'daily#2026-11-21');
  // Stored gzipped or as a map, by size (defaults.recordMapMaxBytes): read either.
  return item && ((await readRecord(item, stack.clients.s3)) as ReturnType<typeof dailyRecord>);
};

async function archivedFor(userId: string): Promise<string[]> {
  const { Contents = [] } = await stack.clients.s3.send(
    new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: archiveIndexPrefix(userId) }),
  );
  return Contents.map((object) => object.Key!);
}

describe('a record whose data_enrichment is null', () => {
  it('is stored as sent, without a read, when nothing is stored yet', async () => {
    const userId = randomUUID();
    const calls: Observed = { sent: [], inFlight: 0 };
    const outcome = await processDelivery(
      daily(userId, 1000, null, 1_000),
      deps({ documentClient: observed(stack.clients.documentClient, calls) }),
    );
    expect(outcome).toMatchObject({ written: 1, skipped: 0 });
    expect(await storedDaily(userId)).toEqual(dailyRecord(1000, null));
    expect(calls.sent).toEqual(['PutCommand']);
  });

  it('replaces an older copy whose scores are null too, without a read', async () => {
    const userId = randomUUID();
    await processDelivery(daily(userId, 1000, null, 1_000), deps());
    const calls: Observed = { sent: [], inFlight: 0 };
    expect(
      await processDelivery(daily(userId, 2000, null, 2_000), deps({ documentClient: observed(stack.clients.documentClient, calls) })),
    ).toMatchObject({ written: 1 });
    expect(await storedDaily(userId)).toEqual(dailyRecord(2000, null));
    expect(calls.sent).toEqual(['PutCommand']);
  });

  it('keeps the scores an older stored copy has: its put is refused, the copy read and merged', async () => {
    const userId = randomUUID();
    await processDelivery(daily(userId, 1000, { sleep_score: 80, stress_score: 30 }, 1_000), deps());
    const calls: Observed = { sent: [], inFlight: 0 };
    expect(
      await processDelivery(
        daily(userId, 2000, { sleep_score: null, stress_score: 35 }, 2_000),
        deps({ documentClient: observed(stack.clients.documentClient, calls) }),
      ),
    ).toMatchObject({
      written: 1,
    });
    expect(await storedDaily(userId)).toEqual(dailyRecord(2000, { sleep_score: 80, stress_score: 35 }));
    // dynalite sends no item back with a refusal, so the copy is read; DynamoDB would send it.
    expect(calls.sent).toEqual(['PutCommand', 'GetCommand', 'PutCommand']);
  });

  it('is skipped when a newer copy is stored, and so is a repeat, each with a single refused put', async () => {
    const userId = randomUUID();
    const newer = daily(userId, 2000, null, 2_000);
    await processDelivery(newer, deps());
    for (const copy of [daily(userId, 1000, null, 1_000), newer]) {
      const calls: Observed = { sent: [], inFlight: 0 };
      expect(await processDelivery(copy, deps({ documentClient: observed(stack.clients.documentClient, calls) }))).toMatchObject({
        written: 0,
        skipped: 1,
      });
      expect(calls.sent.filter((name) => name === 'PutCommand')).toHaveLength(1);
    }
    expect(await storedDaily(userId)).toEqual(dailyRecord(2000, null));
  });
});

describe("a delivery's writes run side by side and all settle before it is done", () => {
  it('fails when a record write fails while the archive succeeds, once the archive is written', async () => {
    const userId = randomUUID();
    const table: Observed = { sent: [], inFlight: 0 };
    const bucket: Observed = { sent: [], inFlight: 0 };
    const failing = deps({
      documentClient: observed(stack.clients.documentClient, table, async () => {
        throw throttled();
      }),
      // The archive is slower than the refusal, so a delivery that did not wait would leave it running.
      s3: observed(stack.clients.s3, bucket, pause),
    });
    const delivery = daily(userId, 1000, null, 1_000);
    await expect(processDelivery(delivery, failing)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(bucket.inFlight).toBe(0);
    expect(table.inFlight).toBe(0);
    // Marker and archived object both written, the marker first (archive.ts).
    expect(bucket.sent).toEqual(['PutObjectCommand', 'PutObjectCommand']);
    expect(await archivedFor(userId)).toHaveLength(1);
    expect(await storedDaily(userId)).toBeUndefined();

    // SQS's retry then stores it; the archive is written again, to the same keys.
    expect(await processDelivery(delivery, deps())).toMatchObject({ written: 1 });
    expect(await storedDaily(userId)).toEqual(dailyRecord(1000, null));
    expect(await archivedFor(userId)).toHaveLength(1);
  });

  it('fails when the archive fails while the records succeed, once the records are written', async () => {
    const userId = randomUUID();
    const table: Observed = { sent: [], inFlight: 0 };
    const bucket: Observed = { sent: [], inFlight: 0 };
    const failing = deps({
      documentClient: observed(stack.clients.documentClient, table, pause),
      s3: observed(stack.clients.s3, bucket, async () => {
        throw slowDown();
      }),
    });
    const delivery = daily(userId, 1000, null, 1_000);
    await expect(processDelivery(delivery, failing)).rejects.toMatchObject({ name: 'SlowDown' });
    expect(table.inFlight).toBe(0);
    expect(bucket.inFlight).toBe(0);
    // The marker was refused, so the archived object was never tried.
    expect(bucket.sent).toEqual(['PutObjectCommand']);
    expect(await archivedFor(userId)).toHaveLength(0);

    // The retry archives it; the record, already stored, is a repeat.
    expect(await processDelivery(delivery, deps())).toMatchObject({ written: 0, skipped: 1 });
    expect(await archivedFor(userId)).toHaveLength(1);
    expect(await storedDaily(userId)).toEqual(dailyRecord(1000, null));
  });

  it("counts a backfill's payload beside the records, and fails only once the records are written when the count fails", async () => {
    const userId = randomUUID();
    const reference = `ref-${randomUUID()}`;
    const table: Observed = { sent: [], inFlight: 0 };
    const countFailing = deps({
      documentClient: observed(stack.clients.documentClient, table, async (command) => {
        if (command.input.TableName === stack.tableNames.events) throw throttled();
        await pause();
      }),
    });
    const delivery = daily(userId, 1000, null, 1_000, reference);
    await expect(processDelivery(delivery, countFailing)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(table.inFlight).toBe(0);
    expect(await storedDaily(userId)).toEqual(dailyRecord(1000, null));

    await processDelivery(delivery, deps());
    const { Item: tracker } = await stack.clients.documentClient.send(
      new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(largeRequestId(reference)), ConsistentRead: true }),
    );
    expect(tracker?.[eventAttributes.receivedPayloads]).toEqual(new Set([expect.stringMatching(/^[0-9a-f]{16}$/)]));
  });
});

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient, PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { writeRecord } from '../../lambdas/consumer/records';
import { dataAttributes as data } from '../../lambdas/shared/attributes';
import { dataItemKey } from '../../lambdas/shared/table-items';

/**
 * The path only DynamoDB takes (dynalite never sends the stored item back with a refusal; the
 * integration tests cover the read that stands in for it there): a put refused with
 * ReturnValuesOnConditionCheckFailure carries the stored copy, and the merge uses it, unread.
 */

const user = { user_id: 'u-1', provider: 'WITHINGS', reference_id: null };
const context = { signatureTimestamp: 2, receivedAt: '2026-11-22T00:00:02.000Z', orderingTs: 2_000, bodySha256: 'b'.repeat(64) };
const record = (enrichment: Record<string, unknown> | null) => ({
  recordId: 'daily#2026-11-21',
  startTime: '2026-11-21T00:00:00+01:00',
  record: { metadata: { start_time: '2026-11-21T00:00:00+01:00' }, steps: 2000, data_enrichment: enrichment },
});
const stored = (orderingTs: number) => ({
  ...dataItemKey('u-1', 'daily#2026-11-21'),
  [data.orderingTs]: orderingTs,
  [data.receivedAt]: '2026-11-22T00:00:01.000Z',
  [data.bodySha256]: 'a'.repeat(64),
  [data.payload]: {
    metadata: { start_time: '2026-11-21T00:00:00+01:00' },
    steps: 1000,
    data_enrichment: { sleep_score: 80, stress_score: 30 },
  },
});

interface Sent {
  name: string;
  input: PutCommandInput;
}

/** Refuses the first put, as DynamoDB does with the stored copy attached; accepts the rest. */
function refusingFirstPut(storedItem: Record<string, unknown>) {
  const sent: Sent[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: PutCommandInput }) => {
      sent.push({ name: command.constructor.name, input: command.input });
      if (command.constructor.name !== 'PutCommand') throw new Error(`${command.constructor.name}: nothing else should be sent`);
      if (sent.length === 1) {
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: marshall(storedItem) });
      }
      return {};
    },
  };
  return { sent, documentClient: client as unknown as DynamoDBDocumentClient };
}

describe('a copy with null scores, refused because the stored copy has scores', () => {
  it('merges with the copy the refusal carried, without reading it, and guards on that copy', async () => {
    const { sent, documentClient } = refusingFirstPut(stored(1_000));
    expect(
      await writeRecord({ documentClient, table: 'terra-data' }, 'daily', user, record({ sleep_score: null, stress_score: 35 }), context),
    ).toBe(true);
    expect(sent.map((command) => command.name)).toEqual(['PutCommand', 'PutCommand']);
    expect(sent[0].input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(sent[1].input.Item![data.payload].data_enrichment).toEqual({ sleep_score: 80, stress_score: 35 });
    expect(sent[1].input.ExpressionAttributeValues).toMatchObject({ ':stored_ordering_ts': 1_000, ':stored_body_sha256': 'a'.repeat(64) });
  });

  it('writes nothing more when the copy the refusal carried is newer', async () => {
    const { sent, documentClient } = refusingFirstPut(stored(3_000));
    expect(await writeRecord({ documentClient, table: 'terra-data' }, 'daily', user, record(null), context)).toBe(false);
    expect(sent.map((command) => command.name)).toEqual(['PutCommand']);
  });
});

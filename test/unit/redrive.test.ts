import type { Message, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { doorOf } from '../../lambdas/consumer/doors';
import { fromSqsRecord } from '../../lambdas/shared/delivery';
import { runRedriveCli, withOriginalSentTimestamp } from '../../lib/tools/redrive';

/**
 * Terra's SQS destination is ordered by SentTimestamp, which a redrive resets: the redriven
 * message must carry its original one, so the consumer sees it exactly as it first did.
 */

const sentTimestamp = 1_763_708_400_123; // 2025-11-21T07:00:00.123Z
const ping = JSON.stringify({ status: 'success', type: 's3_payload', url: 'https://terra.example/payload', expires_in: 600 });

/** A message as ReceiveMessage returns it from the dead-letter queue. */
const deadLetter = (extra: Partial<Message> = {}): Message => ({
  MessageId: 'm-1',
  ReceiptHandle: 'handle',
  Body: ping,
  Attributes: { SentTimestamp: String(sentTimestamp) },
  ...extra,
});

/** What the consumer's event source makes of a message, sent at `sent`. */
function asRecord(message: { body: string; attributes?: SendMessageBatchRequestEntry['MessageAttributes'] }, sent: number): SQSRecord {
  return {
    messageId: 'm-1',
    body: message.body,
    attributes: { SentTimestamp: String(sent), ApproximateReceiveCount: '1' },
    messageAttributes: Object.fromEntries(
      Object.entries(message.attributes ?? {}).map(([name, value]) => [name, { stringValue: value.StringValue, dataType: value.DataType }]),
    ),
  } as unknown as SQSRecord;
}

describe('withOriginalSentTimestamp', () => {
  it('stamps a message without metadata with the delivery metadata of its original SentTimestamp', () => {
    const entry = withOriginalSentTimestamp(deadLetter(), '3');
    expect(entry).toEqual({
      Id: '3',
      MessageBody: ping,
      MessageAttributes: {
        signature_timestamp: { DataType: 'Number', StringValue: String(Math.floor(sentTimestamp / 1000)) },
        ordering_timestamp: { DataType: 'Number', StringValue: String(sentTimestamp) },
        received_at: { DataType: 'String', StringValue: '2025-11-21T07:00:00.123Z' },
      },
    });
  });

  it('makes the consumer read the redriven message, sent much later, as it read the original', () => {
    const original = asRecord({ body: ping }, sentTimestamp);
    const entry = withOriginalSentTimestamp(deadLetter(), '0');
    const redriven = asRecord({ body: entry.MessageBody!, attributes: entry.MessageAttributes }, sentTimestamp + 3 * 24 * 3600 * 1000);

    expect(fromSqsRecord(redriven)).toEqual(fromSqsRecord(original));
    // Another door, the same delivery: both doors are processed alike (batch.ts).
    const [before, after] = [doorOf(original), doorOf(redriven)];
    expect(before.door).toBe('sqs_destination');
    expect(after.door).toBe('webhook');
    expect(after).toEqual({ ...before, door: 'webhook' });
  });

  it('keeps attributes the message already has', () => {
    const entry = withOriginalSentTimestamp(
      deadLetter({ MessageAttributes: { source: { DataType: 'String', StringValue: 'terra' } } }),
      '0',
    );
    expect(entry.MessageAttributes).toMatchObject({
      source: { DataType: 'String', StringValue: 'terra' },
      ordering_timestamp: { StringValue: String(sentTimestamp) },
    });
  });

  it('leaves a message already stamped unchanged, so a second redrive keeps the first SentTimestamp', () => {
    const first = withOriginalSentTimestamp(deadLetter(), '0');
    // Dead-lettered again after the first redrive: SQS now reports the redrive's SentTimestamp.
    const again = deadLetter({ Attributes: { SentTimestamp: String(sentTimestamp + 60_000) }, MessageAttributes: first.MessageAttributes });
    expect(withOriginalSentTimestamp(again, '0')).toEqual(first);
  });

  it('refuses a message received without its SentTimestamp rather than send it back as new', () => {
    expect(() => withOriginalSentTimestamp(deadLetter({ Attributes: {} }), '0')).toThrow(/SentTimestamp/);
  });
});

describe('redrive --help', () => {
  it('says what becomes of each dead-letter queue', async () => {
    const lines: string[] = [];
    expect(await runRedriveCli(['--help'], { env: {}, write: (line) => lines.push(line), sleep: async () => {} })).toBe(0);
    const help = lines.join('\n');
    expect(help).toMatch(/webhook, S3 destination, erase on deauth: moved as they are/);
    expect(help).toMatch(/SQS destination: .*SentTimestamp/);
    expect(help).toMatch(/ORIGINAL SentTimestamp/);
  });
});

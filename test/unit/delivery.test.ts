import type { S3Client } from '@aws-sdk/client-s3';
import type { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { sqsEnqueue, sqsEnqueueWithReceipt } from '../../lambdas/ingest/queue';
import { type Delivery, fromSqsRecord, toSqsMessage } from '../../lambdas/shared/delivery';
import { orderingTimestampOf } from '../../lambdas/shared/ordering';

const metadata = { signatureTimestamp: 1_700_000_000, receivedAt: '2026-11-22T00:00:00.000Z' };

function asRecord(delivery: Delivery): SQSRecord {
  const message = toSqsMessage(delivery);
  return {
    body: message.MessageBody,
    attributes: { SentTimestamp: '1700000000000' },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes).map(([name, value]) => [
        name,
        { stringValue: value.StringValue, dataType: value.DataType },
      ]),
    ),
  } as unknown as SQSRecord;
}

describe('delivery ⇄ SQS message', () => {
  it('carries a JSON body as text and round-trips every metadata field', () => {
    const delivery: Delivery = {
      ...metadata,
      body: Buffer.from('{"type":"sleep"}'),
      orderingTimestamp: 1_700_000_000_500,
      terraReference: 'ref',
      traceId: 'trace:chunk:2',
    };
    expect(toSqsMessage(delivery).MessageBody).toBe('{"type":"sleep"}');
    expect(fromSqsRecord(asRecord(delivery))).toEqual(delivery);
  });

  it.each([
    ['invalid UTF-8', Buffer.from([0xc3, 0x28])],
    ['a control character SQS refuses', Buffer.from('{"a":"\u0000"}')],
  ])('base64-encodes a body with %s and restores it byte for byte', (_label, body) => {
    const delivery: Delivery = { ...metadata, body };
    const message = toSqsMessage(delivery);
    expect(message.MessageAttributes.body_encoding?.StringValue).toBe('base64');
    expect(fromSqsRecord(asRecord(delivery)).body?.equals(body)).toBe(true);
  });

  it.each([
    ['a control character', '{"a":"\u0001"}'],
    ['U+FFFE', '{"a":"\uFFFE"}'],
    ['U+FFFF', '{"a":"\uFFFF"}'],
    ['a lone surrogate', '{"a":"\uD800x"}'],
  ])('base64-encodes a text body holding %s, as the UTF-8 bytes the signature covered', (_label, text) => {
    const message = toSqsMessage({ ...metadata, body: text });
    expect(message.MessageAttributes.body_encoding?.StringValue).toBe('base64');
    expect(Buffer.from(message.MessageBody, 'base64').equals(Buffer.from(text))).toBe(true);
  });

  it.each([
    ['tabs and line breaks', '{"a":"\t\r\n"}'],
    ['characters beyond the BMP', '{"a":"\u{1F600}\u{10FFFF}"}'],
    ['the last characters before the refused ones', '{"a":"\uD7FF\uE000\uFFFD"}'],
  ])('sends a text body with %s as it came', (_label, text) => {
    const message = toSqsMessage({ ...metadata, body: text });
    expect(message.MessageBody).toBe(text);
    expect(message.MessageAttributes.body_encoding).toBeUndefined();
  });

  it("orders by Terra's ordering timestamp when present, else by the signature time in ms", () => {
    expect(orderingTimestampOf({ ...metadata, orderingTimestamp: 42 })).toBe(42);
    expect(orderingTimestampOf(metadata)).toBe(1_700_000_000_000);
  });
});

describe('enqueueing a delivery', () => {
  /** SQS and S3 as far as the enqueue function uses them: they take what they are sent. */
  function clients() {
    const sent: SendMessageCommand['input'][] = [];
    const puts: unknown[] = [];
    const sqs = {
      send: async (command: SendMessageCommand) => {
        sent.push(command.input);
        return { MessageId: `message-${sent.length}` };
      },
    } as unknown as SQSClient;
    const s3 = {
      send: async (command: { input: unknown }) => {
        puts.push(command.input);
        return {};
      },
    } as unknown as S3Client;
    return { sent, puts, sqs, s3 };
  }

  it('reports the message id SQS returned and that a small body went in the message itself', async () => {
    const { sent, puts, sqs, s3 } = clients();
    const receipt = await sqsEnqueueWithReceipt(sqs, 'queue-url', { bucket: 'b', client: async () => s3 })({
      ...metadata,
      body: Buffer.from('{}'),
      traceId: 'trace-1',
    });
    expect(receipt).toEqual({ messageId: 'message-1', claimChecked: false, bodyBytes: 2 });
    expect(puts).toHaveLength(0);
    expect(sent[0].MessageAttributes?.trace_id?.StringValue).toBe('trace-1');
  });

  it('reports a claim check when the body went to S3 first', async () => {
    const { sent, puts, sqs, s3 } = clients();
    const body = Buffer.alloc(1024 * 1024 + 1, 'a');
    const receipt = await sqsEnqueueWithReceipt(sqs, 'queue-url', { bucket: 'b', client: async () => s3 })({
      ...metadata,
      body,
      traceId: 'trace-2',
    });
    expect(receipt).toEqual({ messageId: 'message-1', claimChecked: true, bodyBytes: 1024 * 1024 + 1 });
    expect(puts).toHaveLength(1);
    expect(sent[0].MessageAttributes?.body_s3?.StringValue).toMatch(/^s3:\/\/b\/deliveries\//);
    expect(sent[0].MessageAttributes?.trace_id?.StringValue).toBe('trace-2');
  });

  it('keeps sqsEnqueue for callers that need no receipt', async () => {
    const { sent, sqs } = clients();
    await expect(sqsEnqueue(sqs, 'queue-url')({ ...metadata, body: Buffer.from('{}') })).resolves.toBeUndefined();
    expect(sent).toHaveLength(1);
  });
});

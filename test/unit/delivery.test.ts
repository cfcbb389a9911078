import type { SQSRecord } from 'aws-lambda';
import { type Delivery, fromSqsRecord, orderingTimestampOf, toSqsMessage } from '../../lambdas/shared/delivery';

const metadata = { signatureTimestamp: 1_700_000_000, receivedAt: '2026-11-22T00:00:00.000Z' };

function asRecord(delivery: Delivery): SQSRecord {
  const message = toSqsMessage(delivery);
  return {
    body: message.MessageBody,
    attributes: { SentTimestamp: '1700000000000' },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes).map(([name, value]) => [name, { stringValue: value.StringValue, dataType: value.DataType }]),
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

  it('orders by Terra\'s ordering timestamp when present, else by the signature time in ms', () => {
    expect(orderingTimestampOf({ ...metadata, orderingTimestamp: 42 })).toBe(42);
    expect(orderingTimestampOf(metadata)).toBe(1_700_000_000_000);
  });
});

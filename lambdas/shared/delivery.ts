import { isUtf8 } from 'node:buffer';
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { messageAttributes } from './definitions';

/** What the ingest function knows about one authenticated delivery, besides its body. */
export interface DeliveryMetadata {
  /** `t` of the verified signature, unix seconds. */
  signatureTimestamp: number;
  /** `x-terra-ordering-timestamp`, unix ms, when Terra sent a valid one. */
  orderingTimestamp?: number;
  terraReference?: string;
  traceId?: string;
  /** ISO 8601, when the ingest function accepted it. */
  receivedAt: string;
  /**
   * S3 destination only: the object-created event's `sequencer` (hex, left-padded to a fixed
   * width), which orders two writes of one key within the same millisecond.
   */
  s3Sequencer?: string;
}

export interface Delivery extends DeliveryMetadata {
  /** The body exactly as received (after API Gateway's base64, if any, is undone). */
  body: Buffer;
}

/** A delivery as the consumer first sees it: the body may still be in S3 (claim check). */
export interface QueuedDelivery extends DeliveryMetadata {
  body?: Buffer;
  bodyS3?: string;
  /**
   * S3 destination only: the version of `bodyS3` the notification announced. Two events can share
   * a key, so the key's latest version may be a later event than the one announced.
   */
  bodyS3VersionId?: string;
}

/** The ordering key for "newest wins": Terra's ordering timestamp, else the signature's, in ms. */
export function orderingTimestampOf(metadata: DeliveryMetadata): number {
  return metadata.orderingTimestamp ?? metadata.signatureTimestamp * 1000;
}

// Characters SQS refuses in a message body; a JSON body never has them unescaped, but an
// authenticated body must be enqueued whatever it holds.
const sqsForbidden = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export interface SqsMessageParts {
  MessageBody: string;
  MessageAttributes: Record<string, MessageAttributeValue>;
}

const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
const number = (value: number): MessageAttributeValue => ({ DataType: 'Number', StringValue: String(value) });

function metadataAttributes(delivery: DeliveryMetadata): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {
    [messageAttributes.signatureTimestamp]: number(delivery.signatureTimestamp),
    [messageAttributes.receivedAt]: text(delivery.receivedAt),
  };
  if (delivery.orderingTimestamp !== undefined) {
    attributes[messageAttributes.orderingTimestamp] = number(delivery.orderingTimestamp);
  }
  if (delivery.terraReference) attributes[messageAttributes.terraReference] = text(delivery.terraReference);
  if (delivery.traceId) attributes[messageAttributes.traceId] = text(delivery.traceId);
  return attributes;
}

export function toSqsMessage(delivery: Delivery): SqsMessageParts {
  const attributes = metadataAttributes(delivery);
  let messageBody: string | undefined;
  if (isUtf8(delivery.body)) {
    const decoded = delivery.body.toString('utf8');
    if (!sqsForbidden.test(decoded)) messageBody = decoded;
  }
  if (messageBody === undefined) {
    messageBody = delivery.body.toString('base64');
    attributes[messageAttributes.bodyEncoding] = text('base64');
  }
  return { MessageBody: messageBody, MessageAttributes: attributes };
}

/** The message for a body kept in S3: the metadata as usual, the body replaced by its location. */
export function toClaimCheckMessage(delivery: DeliveryMetadata, bodyS3: string): SqsMessageParts {
  return {
    MessageBody: JSON.stringify({ claim_check: bodyS3 }),
    MessageAttributes: { ...metadataAttributes(delivery), [messageAttributes.bodyS3]: text(bodyS3) },
  };
}

/** Bytes SQS counts for a message: the body plus every attribute's name, type and value. */
export function sqsMessageSize({ MessageBody, MessageAttributes }: SqsMessageParts): number {
  let size = Buffer.byteLength(MessageBody);
  for (const [name, value] of Object.entries(MessageAttributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return size;
}

function attribute(record: SQSRecord, name: string): string | undefined {
  return record.messageAttributes?.[name]?.stringValue;
}

function optionalNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** The consumer's view of a message the ingest function enqueued. */
export function fromSqsRecord(record: SQSRecord): QueuedDelivery {
  const encoding = attribute(record, messageAttributes.bodyEncoding);
  const bodyS3 = attribute(record, messageAttributes.bodyS3);
  const signatureTimestamp = optionalNumber(attribute(record, messageAttributes.signatureTimestamp));
  return {
    ...(bodyS3
      ? { bodyS3 }
      : { body: encoding === 'base64' ? Buffer.from(record.body, 'base64') : Buffer.from(record.body, 'utf8') }),
    // A message without metadata did not come through the webhook: Terra's SQS destination (or a
    // hand-sent test message). No ordering header exists there, so SQS's SentTimestamp, in ms,
    // is the ordering key (terra-contract.md §10).
    signatureTimestamp: signatureTimestamp ?? Math.floor(Number(record.attributes.SentTimestamp) / 1000),
    orderingTimestamp:
      signatureTimestamp === undefined
        ? Number(record.attributes.SentTimestamp)
        : optionalNumber(attribute(record, messageAttributes.orderingTimestamp)),
    terraReference: attribute(record, messageAttributes.terraReference),
    traceId: attribute(record, messageAttributes.traceId),
    receivedAt:
      attribute(record, messageAttributes.receivedAt) ?? new Date(Number(record.attributes.SentTimestamp)).toISOString(),
  };
}

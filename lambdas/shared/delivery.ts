import { isUtf8 } from 'node:buffer';
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { messageAttributes } from './definitions';
import { sqsDestinationOrdering } from './ordering';

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
  /**
   * The body exactly as received: the text API Gateway passed (its UTF-8 bytes are the body), or
   * the bytes, when it came base64-encoded. Text stays text: a JSON body goes into the message as
   * it came, never through a Buffer and back.
   */
  body: Buffer | string;
}

/** Bytes of a body, as Terra signed and SQS counts them. */
export const bodyBytes = (body: Buffer | string): number => (typeof body === 'string' ? Buffer.byteLength(body) : body.length);

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

// Characters SQS refuses in a message body: it takes #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD
// #x10000-#x10FFFF. A JSON body never has them unescaped, but an authenticated body must be
// enqueued whatever it holds. In a well-formed string (no lone surrogate) the surrogate code units
// are pairs, i.e. the allowed #x10000 and up, so a check of single code units is enough: without
// the `u` flag, twice as fast as the code-point class over a large body.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the control characters SQS refuses is this pattern's purpose.
const sqsForbiddenUnit = /[\0-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;

/** Whether SQS takes this text as a message body unchanged. */
export const sqsAcceptsText = (text: string): boolean => text.isWellFormed() && !sqsForbiddenUnit.test(text);

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
  const { body } = delivery;
  const asText = typeof body === 'string' ? body : isUtf8(body) ? body.toString('utf8') : undefined;
  if (asText !== undefined && sqsAcceptsText(asText)) return { MessageBody: asText, MessageAttributes: attributes };
  // A lone surrogate in text is sent as Buffer.from makes it (U+FFFD): the bytes the signature covered.
  attributes[messageAttributes.bodyEncoding] = text('base64');
  return { MessageBody: (typeof body === 'string' ? Buffer.from(body) : body).toString('base64'), MessageAttributes: attributes };
}

/** The message for a body kept in S3: the metadata as usual, the body replaced by its location. */
export function toClaimCheckMessage(delivery: DeliveryMetadata, bodyS3: string): SqsMessageParts {
  return {
    MessageBody: JSON.stringify({ claim_check: bodyS3 }),
    MessageAttributes: { ...metadataAttributes(delivery), [messageAttributes.bodyS3]: text(bodyS3) },
  };
}

/**
 * Bytes SQS counts for a message: the body plus every attribute's name, type and value.
 * `messageBodyBytes` spares measuring a large body again when the caller knows its size.
 */
export function sqsMessageSize({ MessageBody, MessageAttributes }: SqsMessageParts, messageBodyBytes?: number): number {
  let size = messageBodyBytes ?? Buffer.byteLength(MessageBody);
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
    ...(bodyS3 ? { bodyS3 } : { body: encoding === 'base64' ? Buffer.from(record.body, 'base64') : Buffer.from(record.body, 'utf8') }),
    // A message without metadata did not come through the webhook: Terra's SQS destination (or a
    // hand-sent test message), ordered by when SQS took it (ordering.ts).
    signatureTimestamp: signatureTimestamp ?? Math.floor(Number(record.attributes.SentTimestamp) / 1000),
    orderingTimestamp:
      signatureTimestamp === undefined
        ? sqsDestinationOrdering(record.attributes.SentTimestamp)
        : optionalNumber(attribute(record, messageAttributes.orderingTimestamp)),
    terraReference: attribute(record, messageAttributes.terraReference),
    traceId: attribute(record, messageAttributes.traceId),
    receivedAt: attribute(record, messageAttributes.receivedAt) ?? new Date(Number(record.attributes.SentTimestamp)).toISOString(),
  };
}

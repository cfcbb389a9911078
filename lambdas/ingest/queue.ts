import { randomUUID } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import { limits, payloadBucket } from '../shared/definitions';
import { bodyBytes, type Delivery, sqsMessageSize, toClaimCheckMessage, toSqsMessage } from '../shared/delivery';
import { s3Url } from '../shared/s3-url';

export interface LargeBodyStore {
  bucket: string;
  /** Resolved on first use: most deliveries never touch S3. */
  client: () => Promise<S3Client>;
}

/** What the queue said: the message's id (the consumer logs the same one) and whether the body went to S3. */
export interface EnqueueReceipt {
  messageId?: string;
  claimChecked: boolean;
  /** The body's size in bytes, measured once here. */
  bodyBytes?: number;
}

/**
 * Enqueues a delivery; SendMessage resolving means SQS has stored it redundantly. A body too
 * large for one message is written to S3 first and the message carries a pointer to it (claim
 * check): only those deliveries pay for an S3 call.
 */
export function sqsEnqueueWithReceipt(client: SQSClient, queueUrl: string, largeBodies?: LargeBodyStore) {
  return async (delivery: Delivery): Promise<EnqueueReceipt> => {
    const bytes = bodyBytes(delivery.body);
    // A body over the limit on its own skips the UTF-8 and character checks of toSqsMessage.
    let message = bytes > limits.sqsMessageBytes ? undefined : toSqsMessage(delivery);
    let claimChecked = false;
    if (!message || sqsMessageSize(message, message.MessageBody === delivery.body ? bytes : undefined) > limits.sqsMessageBytes) {
      if (!largeBodies) throw new Error(`body of ${bytes} bytes exceeds one SQS message and no bucket is configured`);
      const url = s3Url(largeBodies.bucket, `${payloadBucket.prefixes.deliveries}${delivery.receivedAt.slice(0, 10)}/${randomUUID()}`);
      // Loaded on the first large body: the S3 commands are no part of the ingest cold start.
      const { putObject } = await import('../shared/s3');
      await putObject(await largeBodies.client(), url, delivery.body);
      message = toClaimCheckMessage(delivery, url);
      claimChecked = true;
    }
    const { MessageId: messageId } = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, ...message }));
    return { messageId, claimChecked, bodyBytes: bytes };
  };
}

/** The same, for callers that need no receipt (the backfill tool). */
export function sqsEnqueue(client: SQSClient, queueUrl: string, largeBodies?: LargeBodyStore): (delivery: Delivery) => Promise<void> {
  const enqueue = sqsEnqueueWithReceipt(client, queueUrl, largeBodies);
  return async (delivery) => void (await enqueue(delivery));
}

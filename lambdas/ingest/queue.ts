import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Delivery, toSqsMessage } from '../shared/delivery';

/** Enqueues a delivery; SendMessage resolving means SQS has stored it redundantly. */
export function sqsEnqueue(client: SQSClient, queueUrl: string) {
  return async (delivery: Delivery): Promise<void> => {
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, ...toSqsMessage(delivery) }));
  };
}

import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/**
 * Handing a message back to its queue for an immediate retry: a batch item failure alone would
 * keep it invisible for the whole visibility timeout (6 minutes), long enough for a Ping-mode URL
 * to expire; with its visibility set to 0 the next poll receives it again at once.
 */

/** `arn:<partition>:sqs:<region>:<account>:<name>` → the queue's URL in AWS. */
export function awsQueueUrlOf(arn: string): string {
  const [prefix, partition, service, region, account, name, ...rest] = arn.split(':');
  if (prefix !== 'arn' || service !== 'sqs' || !region || !account || !name || rest.length > 0) {
    throw new Error(`not an SQS queue ARN: ${arn}`);
  }
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

export interface HandBackDependencies {
  sqs: Pick<SQSClient, 'send'>;
  /** The URL of the queue a record came from; the AWS URL derived from its ARN unless given. */
  queueUrlOf?: (arn: string) => string;
}

/**
 * Makes the message visible again at once. The receive it used still counts towards the
 * queue's maxReceiveCount: a URL that stalls on every try ends in the dead-letter queue after
 * maxReceiveCount quick tries, as any message that keeps failing does.
 */
export async function handBack(record: SQSRecord, { sqs, queueUrlOf = awsQueueUrlOf }: HandBackDependencies): Promise<void> {
  // Rare (a Ping download out of time): the SQS commands load on first use, not at every cold start.
  const { ChangeMessageVisibilityCommand } = await import('@aws-sdk/client-sqs');
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrlOf(record.eventSourceARN),
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: 0,
    }),
  );
}

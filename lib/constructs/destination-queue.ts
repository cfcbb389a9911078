import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { limits, queueSettings } from '../../lambdas/shared/definitions';

export interface ConsumerQueuesOptions {
  /** @default queueSettings.visibilityTimeoutSeconds */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * Customer-managed KMS key for the queue and its dead-letter queue (stack prop `customerManagedKey`).
   * @default - SQS-managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A queue in front of the consumer and its dead-letter queue, created in `scope` as `Queue` and
 * `DeadLetterQueue`: the pipeline's queue and every destination's are set up alike, so the
 * consumer treats every door alike. Both take the largest message SQS allows, so a message
 * redriven from the dead-letter queue fits the queue again. Without a customer-managed key the
 * encryption is SQS-managed, never the AWS-managed KMS key: S3 cannot notify a queue under that
 * key (its policy cannot admit S3), and Terra's access key would need key permissions as well.
 * With the stack's own key both are arranged (see s3-destination.ts and terra-destinations.ts).
 */
export function consumerQueues(scope: Construct, options: ConsumerQueuesOptions = {}): { queue: sqs.Queue; deadLetterQueue: sqs.Queue } {
  const encryption = options.encryptionKey
    ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: options.encryptionKey }
    : { encryption: sqs.QueueEncryption.SQS_MANAGED };
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    maxMessageSizeBytes: limits.sqsMessageBytes,
    retentionPeriod: Duration.seconds(queueSettings.deadLetterRetentionPeriodSeconds),
    ...encryption,
    enforceSSL: true,
  });
  const queue = new sqs.Queue(scope, 'Queue', {
    visibilityTimeout: Duration.seconds(options.visibilityTimeoutSeconds ?? queueSettings.visibilityTimeoutSeconds),
    maxMessageSizeBytes: limits.sqsMessageBytes,
    retentionPeriod: Duration.seconds(queueSettings.retentionPeriodSeconds),
    ...encryption,
    enforceSSL: true,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: queueSettings.maxReceiveCount },
  });
  return { queue, deadLetterQueue };
}

/**
 * Lets `grantee` send to `queue`. Under a KMS key a producer needs `kms:GenerateDataKey` and
 * `kms:Decrypt` on it and nothing more; `Queue.grantSendMessages` would add `kms:Encrypt`,
 * `kms:ReEncrypt*` and `kms:GenerateDataKey*`.
 */
export function grantSendMessages(queue: sqs.IQueue, grantee: iam.IGrantable): void {
  sqs.QueueGrants.fromQueue(queue).actions(grantee, ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], {
    keyActions: ['kms:GenerateDataKey', 'kms:Decrypt'],
  });
}

/** One of Terra's destinations' queues (docs/terra.md §10), with its dead-letter queue. */
export class DestinationQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, options: Pick<ConsumerQueuesOptions, 'encryptionKey'> = {}) {
    super(scope, id);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = consumerQueues(this, options));
  }
}

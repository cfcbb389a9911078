import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { limits, queueSettings } from '../../lambdas/shared/definitions';

/**
 * A queue in front of the consumer and its dead-letter queue, created in `scope` as `Queue` and
 * `DeadLetterQueue`: the pipeline's queue and every destination's are set up alike, so the
 * consumer treats every door alike. Both take the largest message SQS allows, so a message
 * redriven from the dead-letter queue fits the queue again. Encryption is SQS-managed, never KMS:
 * S3 cannot notify a queue encrypted with the AWS-managed KMS key, and Terra's access key would
 * need key permissions as well.
 */
export function consumerQueues(
  scope: Construct,
  options: { visibilityTimeoutSeconds?: number } = {},
): { queue: sqs.Queue; deadLetterQueue: sqs.Queue } {
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    maxMessageSizeBytes: limits.sqsMessageBytes,
    retentionPeriod: Duration.seconds(queueSettings.deadLetterRetentionPeriodSeconds),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  const queue = new sqs.Queue(scope, 'Queue', {
    visibilityTimeout: Duration.seconds(options.visibilityTimeoutSeconds ?? queueSettings.visibilityTimeoutSeconds),
    maxMessageSizeBytes: limits.sqsMessageBytes,
    retentionPeriod: Duration.seconds(queueSettings.retentionPeriodSeconds),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: queueSettings.maxReceiveCount },
  });
  return { queue, deadLetterQueue };
}

/** One of Terra's destinations' queues (terra-contract.md §10), with its dead-letter queue. */
export class DestinationQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = consumerQueues(this));
  }
}

import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { limits, queueSettings } from '../../lambdas/shared/definitions';

/**
 * A queue in front of the consumer for one of Terra's destinations (terra-contract.md §10), with
 * its own dead-letter queue, set up like the pipeline's queue so the consumer treats every door
 * alike. Encryption is SQS-managed, never KMS: S3 cannot notify a queue encrypted with the
 * AWS-managed KMS key, and Terra's access key would need key permissions as well.
 */
export class DestinationQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    // A message redriven from the dead-letter queue must fit the queue again, hence the same size.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      maxMessageSizeBytes: limits.sqsMessageBytes,
      retentionPeriod: Duration.seconds(queueSettings.deadLetterRetentionPeriodSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(queueSettings.visibilityTimeoutSeconds),
      maxMessageSizeBytes: limits.sqsMessageBytes,
      retentionPeriod: Duration.seconds(queueSettings.retentionPeriodSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: queueSettings.maxReceiveCount },
    });
  }
}

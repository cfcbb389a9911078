import * as iam from 'aws-cdk-lib/aws-iam';
import { destinations } from '../../lambdas/shared/definitions';
import { DestinationQueue } from './destination-queue';
import { keyViaStatement } from './encryption-key';

/**
 * Terra's SQS destination (docs/terra.md §10): the queue Terra sends its `s3_payload` (and
 * `healthcheck`) messages to, with its dead-letter queue. Terra authenticates with an access key
 * of an IAM user in this account, so no queue policy admits anyone; `terraUserStatements` is all
 * that key may do here.
 */
export class TerraSqsDestination extends DestinationQueue {
  /**
   * Exactly the actions §10 names, on this queue only. Written out rather than granted with
   * `grantSendMessages`, which adds `sqs:GetQueueAttributes` Terra does not need. Under a KMS key,
   * what SQS asks of a producer on it (GenerateDataKey, Decrypt), through SQS only: Terra's client
   * needs no change, SQS encrypts on its behalf.
   */
  terraUserStatements(): iam.PolicyStatement[] {
    const key = this.queue.encryptionMasterKey;
    return [
      new iam.PolicyStatement({ actions: [...destinations.queue.terraActions], resources: [this.queue.queueArn] }),
      ...(key ? [keyViaStatement(key, 'sqs', 'kms:GenerateDataKey', 'kms:Decrypt')] : []),
    ];
  }
}

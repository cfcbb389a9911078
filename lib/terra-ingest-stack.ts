import { CfnOutput, Stack, type RemovalPolicy, type StackProps } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Construct } from 'constructs';
import { queueSettings } from '../lambdas/shared/definitions';
import { PayloadBucket } from './constructs/payload-bucket';
import { IngestPipeline } from './constructs/pipeline';
import { TerraStorage } from './constructs/storage';
import { WebhookApi } from './constructs/webhook-api';

export interface TerraIngestStackProps extends StackProps {
  /**
   * What happens to the DynamoDB tables and the payload bucket when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Accepted distance between a signature's timestamp and the ingest function's clock, in seconds.
   * @default defaults.signatureToleranceSeconds from lambdas/shared/definitions.ts
   */
  readonly signatureToleranceSeconds?: number;
  /**
   * Throttling of the webhook API.
   * @default { burstLimit: 500, rateLimit: 1000 }
   */
  readonly throttle?: ThrottleSettings;
  /**
   * Days the raw archive of deliveries (`archive/` in the payload bucket) is kept, for replay.
   * @default payloadBucket.archiveRetentionDays from lambdas/shared/definitions.ts
   */
  readonly archiveRetentionDays?: number;
}

/** Terra webhooks → API Gateway → ingest Lambda → SQS → consumer Lambda → DynamoDB (and S3). */
export class TerraIngestStack extends Stack {
  readonly storage: TerraStorage;
  readonly payloads: PayloadBucket;
  readonly pipeline: IngestPipeline;
  readonly webhook: WebhookApi;

  constructor(scope: Construct, id: string, props: TerraIngestStackProps = {}) {
    super(scope, id, props);

    this.storage = new TerraStorage(this, 'Storage', { removalPolicy: props.removalPolicy });
    this.payloads = new PayloadBucket(this, 'Payloads', {
      archiveRetentionDays: props.archiveRetentionDays,
      removalPolicy: props.removalPolicy,
    });
    this.pipeline = new IngestPipeline(this, 'Pipeline', {
      dataTable: this.storage.dataTable,
      usersTable: this.storage.usersTable,
      eventsTable: this.storage.eventsTable,
      payloadBucket: this.payloads,
    });
    this.webhook = new WebhookApi(this, 'Webhook', {
      queue: this.pipeline.queue,
      payloadBucket: this.payloads,
      signatureToleranceSeconds: props.signatureToleranceSeconds,
      throttle: props.throttle,
    });

    const outputs: Record<string, { value: string; description: string }> = {
      WebhookUrl: { value: this.webhook.webhookUrl, description: "The URL to enter in Terra's dashboard" },
      DataTableName: { value: this.storage.dataTable.tableName, description: 'One item per Terra record' },
      UsersTableName: { value: this.storage.usersTable.tableName, description: 'One item per Terra user' },
      EventsTableName: { value: this.storage.eventsTable.tableName, description: 'Other deliveries and their outcome' },
      SigningSecretName: {
        value: this.webhook.signingSecret.secretName,
        description:
          "Fill with Terra's signing secret(s): " +
          'aws secretsmanager put-secret-value --secret-id <this name> --secret-string <secret[,secret]>',
      },
      QueueUrl: { value: this.pipeline.queue.queueUrl, description: 'Verified deliveries waiting for the consumer' },
      DeadLetterQueueUrl: {
        value: this.pipeline.deadLetterQueue.queueUrl,
        description: `Deliveries the consumer failed on ${queueSettings.maxReceiveCount} times`,
      },
      PayloadBucketName: {
        value: this.payloads.bucket.bucketName,
        description: 'Large bodies (deliveries/), the raw archive for replay (archive/), large records (records/)',
      },
    };
    for (const [name, output] of Object.entries(outputs)) new CfnOutput(this, name, output);
  }
}

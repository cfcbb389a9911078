import { CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { consumerTimeoutSeconds, limits, queueSettings } from '../../lambdas/shared/definitions';
import { NodeFunction } from './node-function';
import type { PayloadBucket } from './payload-bucket';

export interface IngestPipelineProps {
  readonly dataTable: dynamodb.ITable;
  readonly usersTable: dynamodb.ITable;
  readonly eventsTable: dynamodb.ITable;
  /**
   * Where the consumer reads claim-checked bodies (`deliveries/`), archives every delivery
   * (`archive/`) and keeps records too large for an item (`records/`).
   */
  readonly payloadBucket: PayloadBucket;
  /**
   * Memory of the consumer function in MB.
   * @default 1024
   */
  readonly consumerMemorySize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The queue between the webhook and the tables, its dead-letter queue, and the consumer that
 * writes each message into DynamoDB (and the payload bucket).
 */
export class IngestPipeline extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly consumerFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);

    // Both queues take the largest message SQS allows: the ingest function claim-checks only what
    // exceeds it, and a message redriven from the dead-letter queue must fit the queue again.
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

    const consumer = new NodeFunction(this, 'Consumer', {
      lambda: 'consumer',
      description: 'Writes queued Terra webhook deliveries into DynamoDB',
      memorySize: props.consumerMemorySize ?? 1024,
      timeout: Duration.seconds(consumerTimeoutSeconds),
      logRetention: props.logRetention,
      environment: {
        DATA_TABLE: props.dataTable.tableName,
        USERS_TABLE: props.usersTable.tableName,
        EVENTS_TABLE: props.eventsTable.tableName,
        PAYLOAD_BUCKET: props.payloadBucket.bucket.bucketName,
        POWERTOOLS_SERVICE_NAME: 'terra-ingest-consumer',
        POWERTOOLS_METRICS_NAMESPACE: 'TerraIngest',
      },
    });
    this.consumerFunction = consumer.function;

    for (const table of [props.dataTable, props.usersTable, props.eventsTable]) {
      table.grant(this.consumerFunction, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem');
      // Table.grant also lists `<table>/index/*`; item reads and writes cannot target an index,
      // so those resources grant nothing beyond the table itself.
      const cfnTable = table.node.defaultChild;
      if (!CfnElement.isCfnElement(cfnTable)) continue;
      Validations.of(consumer.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(cfnTable).getLogicalId(cfnTable)}.Arn>/index/*]`,
        reason: 'Table.grant adds the table indexes; GetItem, PutItem and UpdateItem cannot act on an index',
      });
    }

    // Claim-checked bodies and the archive (replay) are read; the archive and large records are
    // written; a large record's object is read back (enrichment merge) and deleted when its item
    // loses to a newer copy.
    props.payloadBucket.grantObjects(this.consumerFunction, 'deliveries', 's3:GetObject');
    props.payloadBucket.grantObjects(this.consumerFunction, 'archive', 's3:GetObject', 's3:PutObject');
    props.payloadBucket.grantObjects(this.consumerFunction, 'records', 's3:GetObject', 's3:PutObject', 's3:DeleteObject');

    this.consumerFunction.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: queueSettings.batchSize,
        maxBatchingWindow: Duration.seconds(queueSettings.maxBatchingWindowSeconds),
        // One bad message must not send the rest of its batch back to the queue.
        reportBatchItemFailures: true,
      }),
    );
  }
}

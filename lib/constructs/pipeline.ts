import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { consumerMemoryMb, consumerTimeoutSeconds, queueSettings } from '../../lambdas/shared/definitions';
import { consumerQueues } from './destination-queue';
import { NodeFunction } from './node-function';
import { grantTableActions } from './table-grants';
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
   * @default consumerMemoryMb from lambdas/shared/definitions.ts (1536)
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

    // The ingest function claim-checks only what exceeds the largest message SQS allows.
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = consumerQueues(this));

    const consumer = new NodeFunction(this, 'Consumer', {
      lambda: 'consumer',
      description: 'Writes queued Terra webhook deliveries into DynamoDB',
      memorySize: props.consumerMemorySize ?? consumerMemoryMb,
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

    // Each table gets exactly the item calls the consumer makes on it.
    grantTableActions(consumer.role, [
      // put: a record; get: the stored copy for an enrichment merge or a delete; update: a tombstone
      [props.dataTable, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']],
      // update: a connection change
      [props.usersTable, ['dynamodb:UpdateItem']],
      // put: a kept event; update: a backfill tracker
      [props.eventsTable, ['dynamodb:PutItem', 'dynamodb:UpdateItem']],
    ]);

    // Claim-checked bodies and the archive (replay) are read; the archive, large records and large
    // kept bodies are written (in parts above 8 MiB, hence the abort); a large record's object is
    // read back (enrichment merge) and deleted when it is stale or replaced.
    const { consumerFunction } = this;
    props.payloadBucket.grantObjects(consumerFunction, 'deliveries', 's3:GetObject');
    props.payloadBucket.grantObjects(consumerFunction, 'archive', 's3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload');
    // Zero-byte markers naming each user's archived deliveries, so an erase need not list the archive.
    props.payloadBucket.grantObjects(consumerFunction, 'archiveIndex', 's3:PutObject');
    props.payloadBucket.grantObjects(consumerFunction, 'records', 's3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload');
    props.payloadBucket.grantObjects(consumerFunction, 'events', 's3:PutObject', 's3:AbortMultipartUpload');

    this.consume(this.queue);
  }

  /**
   * Makes the consumer read `queue` the way it reads the pipeline's own queue: Terra's SQS and S3
   * destinations (terra-contract.md §10) are further doors into the same consumer. The event
   * source grants the consumer the queue's receive, delete and ChangeMessageVisibility calls.
   */
  consume(queue: sqs.IQueue): void {
    this.consumerFunction.addEventSource(
      new SqsEventSource(queue, {
        batchSize: queueSettings.batchSize,
        maxBatchingWindow: Duration.seconds(queueSettings.maxBatchingWindowSeconds),
        // One bad message must not send the rest of its batch back to the queue.
        reportBatchItemFailures: true,
      }),
    );
  }
}

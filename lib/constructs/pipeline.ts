import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { consumerMemoryMb, consumerTimeoutSeconds, defaults, limits, observability, queueSettings } from '../../lambdas/shared/definitions';
import { consumerQueues } from './destination-queue';
import { NodeFunction } from './node-function';
import { grantTableActions } from './table-grants';
import type { PayloadBucket } from './payload-bucket';

/**
 * Default `maximumConcurrency` of each event source the consumer reads (stack prop
 * `consumerMaxConcurrency`): how many consumer instances one queue may keep busy at once.
 *
 * Without it, SQS pollers scale a backlog (a redelivery burst after an outage, a redrive) up to
 * the account's whole Lambda concurrency (1,000 by default, shared with the ingest function and
 * every other function in the account), so the ingest path could be throttled while the backlog
 * drains, and the tables would see a step of writes far above their previous peak. The tables
 * are on demand: a new one takes up to 4,000 write units per second, and DynamoDB adapts to
 * twice the previous peak, so sudden steps well above it are throttled, and a throttled write
 * fails its message back to the queue, one receive closer to the dead-letter queue.
 *
 * Ten instances, each writing one batch of `queueSettings.batchSize` messages at a time, keep
 * within that: a backlog drains at some hundreds of deliveries per second (a six-hour outage of a
 * busy team's traffic in minutes), far above Terra's steady rate, while the rest of the account
 * keeps its concurrency. A message beyond the limit waits in the queue, with no receive counted.
 * The limit is per queue: with both of Terra's destinations on, the consumer may run three times it.
 * SQS allows 2 to 1,000.
 */
export const consumerMaxConcurrencyDefault = 10;

/** The prop checked at synth: a whole number of bytes, at most what an item can hold. */
function recordMapMaxBytes(value: number | undefined): number {
  const bytes = value ?? defaults.recordMapMaxBytes;
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > limits.dynamoDbItemBytes) {
    throw new Error(`recordMapMaxBytes must be a whole number of bytes from 0 to ${limits.dynamoDbItemBytes}; got ${value}`);
  }
  return bytes;
}

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
  /**
   * The most consumer instances each queue it reads may keep busy (the event source's
   * `maximumConcurrency`), a whole number from 2 to 1,000.
   * @default consumerMaxConcurrencyDefault (10)
   */
  readonly consumerMaxConcurrency?: number;
  /** The consumer's `RECORD_MAP_MAX_BYTES`. @default defaults.recordMapMaxBytes */
  readonly recordMapMaxBytes?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Active X-Ray tracing of the functions. @default false */
  readonly tracing?: boolean;
  /**
   * Customer-managed KMS key for the queues and the log groups.
   * @default - SQS-managed encryption and CloudWatch Logs' own
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The queue between the webhook and the tables, its dead-letter queue, and the consumer that
 * writes each message into DynamoDB (and the payload bucket).
 */
export class IngestPipeline extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly consumerFunction: lambda.Function;
  /** The `maximumConcurrency` of every event source the consumer reads. */
  readonly consumerMaxConcurrency: number;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);

    this.consumerMaxConcurrency = props.consumerMaxConcurrency ?? consumerMaxConcurrencyDefault;
    const max = this.consumerMaxConcurrency;
    if (!Number.isInteger(max) || max < 2 || max > 1000) {
      throw new Error(`consumerMaxConcurrency must be a whole number from 2 to 1000 (SQS event sources allow no other); got ${max}`);
    }

    // The ingest function claim-checks only what exceeds the largest message SQS allows.
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = consumerQueues(this, { encryptionKey: props.encryptionKey }));

    const consumer = new NodeFunction(this, 'Consumer', {
      lambda: 'consumer',
      description: 'Writes queued Terra webhook deliveries into DynamoDB',
      memorySize: props.consumerMemorySize ?? consumerMemoryMb,
      timeout: Duration.seconds(consumerTimeoutSeconds),
      logRetention: props.logRetention,
      tracing: props.tracing,
      encryptionKey: props.encryptionKey,
      environment: {
        DATA_TABLE: props.dataTable.tableName,
        USERS_TABLE: props.usersTable.tableName,
        EVENTS_TABLE: props.eventsTable.tableName,
        PAYLOAD_BUCKET: props.payloadBucket.bucket.bucketName,
        POWERTOOLS_SERVICE_NAME: observability.services.consumer,
        POWERTOOLS_METRICS_NAMESPACE: observability.namespace,
        RECORD_MAP_MAX_BYTES: String(recordMapMaxBytes(props.recordMapMaxBytes)),
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
    props.payloadBucket.grantObjects(
      consumerFunction,
      'records',
      's3:GetObject',
      's3:PutObject',
      's3:DeleteObject',
      's3:AbortMultipartUpload',
    );
    props.payloadBucket.grantObjects(consumerFunction, 'events', 's3:PutObject', 's3:AbortMultipartUpload');

    this.consume(this.queue);
  }

  /**
   * Makes the consumer read `queue` the way it reads the pipeline's own queue: Terra's SQS and S3
   * destinations (docs/terra.md §10) are further doors into the same consumer. The event
   * source grants the consumer the queue's receive, delete and ChangeMessageVisibility calls (and
   * Decrypt on the queue's KMS key, if it has one).
   */
  consume(queue: sqs.IQueue): void {
    this.consumerFunction.addEventSource(
      new SqsEventSource(queue, {
        batchSize: queueSettings.batchSize,
        maxBatchingWindow: Duration.seconds(queueSettings.maxBatchingWindowSeconds),
        // One bad message must not send the rest of its batch back to the queue.
        reportBatchItemFailures: true,
        maxConcurrency: this.consumerMaxConcurrency,
      }),
    );
  }
}

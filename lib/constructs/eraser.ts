import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { erasure, observability, payloadBucket, queueSettings } from '../../lambdas/shared/definitions';
import { consumerQueues, grantSendMessages } from './destination-queue';
import { NodeFunction } from './node-function';
import type { IngestPipelineProps } from './pipeline';
import { grantTableActions } from './table-grants';

/**
 * `maximumConcurrency` of the eraser's event source: erases run at most two at a time. Each one
 * scans the whole of terra-events (no index has user_id as a key), so erases piling up after a
 * wave of deauths take their turn instead of multiplying that read load on the tables.
 */
export const eraserMaxConcurrency = 2;

/** The tables and the bucket the consumer writes, where the eraser erases. */
export interface EraseOnDeauthProps
  extends Pick<
    IngestPipelineProps,
    'dataTable' | 'usersTable' | 'eventsTable' | 'payloadBucket' | 'logRetention' | 'tracing' | 'encryptionKey'
  > {
  /** The consumer, which asks for an erase when `deauth` or `access_revoked` arrives. */
  readonly consumerFunction: lambda.Function;
}

/**
 * Erase on deauth: the consumer sends the user id to the erasure queue, delayed by
 * `erasure.delaySeconds`; the eraser function erases the user from the tables and the payload
 * bucket (lambdas/eraser). Off the ingest path and out of the consumer's batches; a failed erase
 * retries, then waits in the dead-letter queue for `npm run redrive`.
 */
export class EraseOnDeauth extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly eraserFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: EraseOnDeauthProps) {
    super(scope, id);
    // AWS advises a visibility timeout of six times the function timeout for an SQS event source.
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = consumerQueues(this, {
      visibilityTimeoutSeconds: 6 * erasure.functionTimeoutSeconds,
      encryptionKey: props.encryptionKey,
    }));

    const eraser = new NodeFunction(this, 'Eraser', {
      lambda: 'eraser',
      description: 'Erases a Terra user from the tables and the payload bucket after deauth or access_revoked',
      memorySize: 512,
      timeout: Duration.seconds(erasure.functionTimeoutSeconds),
      logRetention: props.logRetention,
      tracing: props.tracing,
      encryptionKey: props.encryptionKey,
      environment: {
        DATA_TABLE: props.dataTable.tableName,
        USERS_TABLE: props.usersTable.tableName,
        EVENTS_TABLE: props.eventsTable.tableName,
        PAYLOAD_BUCKET: props.payloadBucket.bucket.bucketName,
        POWERTOOLS_SERVICE_NAME: observability.services.eraser,
      },
    });
    this.eraserFunction = eraser.function;

    grantTableActions(eraser.role, [
      // query: the user's partition; batch write: its deletes
      [props.dataTable, ['dynamodb:Query', 'dynamodb:BatchWriteItem']],
      // get and delete: the user item
      [props.usersTable, ['dynamodb:GetItem', 'dynamodb:DeleteItem']],
      // scan: the user's kept events and trackers (no index has user_id as key); batch write: deletes
      [props.eventsTable, ['dynamodb:Scan', 'dynamodb:BatchWriteItem']],
    ]);

    // Listing only where a key names the user: their large records and their archive index.
    const { records, archiveIndex } = payloadBucket.prefixes;
    eraser.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.payloadBucket.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${records}*`, `${archiveIndex}*`] } },
      }),
    );
    // HEAD on a claim-checked body (it may have expired) needs GetObject.
    props.payloadBucket.grantObjects(eraser.function, 'deliveries', 's3:GetObject', 's3:DeleteObject');
    for (const prefix of ['archive', 'records', 'events', 'archiveIndex'] as const) {
      props.payloadBucket.grantObjects(eraser.function, prefix, 's3:DeleteObject');
    }

    this.eraserFunction.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: queueSettings.batchSize,
        // A user whose erase failed goes back alone.
        reportBatchItemFailures: true,
        maxConcurrency: eraserMaxConcurrency,
      }),
    );

    grantSendMessages(this.queue, props.consumerFunction);
    props.consumerFunction.addEnvironment('ERASE_QUEUE_URL', this.queue.queueUrl);
  }
}

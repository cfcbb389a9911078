import { type CreateTableCommandInput, CreateTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  destinations,
  erasure,
  limits,
  payloadBucket,
  queueSettings,
  type TableDefinition,
  tables,
} from '../../lambdas/shared/definitions';

/** Creates the local tables, queues and buckets from the same definitions the CDK stack uses. */

export function createTableInput(definition: TableDefinition): CreateTableCommandInput {
  const attributes = new Map<string, string>();
  const keySchema = (partition: { name: string; type: string }, sort?: { name: string; type: string }) => {
    attributes.set(partition.name, partition.type);
    if (sort) attributes.set(sort.name, sort.type);
    return [
      { AttributeName: partition.name, KeyType: 'HASH' as const },
      ...(sort ? [{ AttributeName: sort.name, KeyType: 'RANGE' as const }] : []),
    ];
  };
  const input: CreateTableCommandInput = {
    TableName: definition.localName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    GlobalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: keySchema(index.partitionKey, index.sortKey),
      Projection: index.nonKeyAttributes
        ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] }
        : { ProjectionType: 'ALL' },
    })),
  };
  input.AttributeDefinitions = [...attributes].map(([AttributeName, AttributeType]) => ({
    AttributeName,
    AttributeType: AttributeType as 'S' | 'N' | 'B',
  }));
  if (input.GlobalSecondaryIndexes?.length === 0) delete input.GlobalSecondaryIndexes;
  return input;
}

export async function ensureTables(client: DynamoDBClient): Promise<void> {
  for (const definition of Object.values(tables)) {
    try {
      await client.send(new CreateTableCommand(createTableInput(definition)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException) && (error as Error).name !== 'ResourceInUseException') throw error;
    }
  }
}

export interface LocalQueues {
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
}

export interface QueueOverrides {
  /** Tests shorten it so a failed message comes back in a second, not three minutes. */
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
}

/** Creates a queue and its dead-letter queue with the pipeline's settings; keeps what an existing one holds. */
async function ensureQueuePair(
  client: SQSClient,
  names: { queue: string; deadLetterQueue: string },
  overrides: QueueOverrides,
): Promise<LocalQueues> {
  const arnOf = async (queueUrl: string) =>
    (await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const dlq = await client.send(
    new CreateQueueCommand({
      QueueName: names.deadLetterQueue,
      Attributes: { MessageRetentionPeriod: String(queueSettings.deadLetterRetentionPeriodSeconds) },
    }),
  );
  const deadLetterQueueUrl = dlq.QueueUrl!;
  const attributes = {
    VisibilityTimeout: String(overrides.visibilityTimeoutSeconds ?? queueSettings.visibilityTimeoutSeconds),
    MaximumMessageSize: String(limits.sqsMessageBytes),
    MessageRetentionPeriod: String(queueSettings.retentionPeriodSeconds),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: await arnOf(deadLetterQueueUrl),
      maxReceiveCount: overrides.maxReceiveCount ?? queueSettings.maxReceiveCount,
    }),
  };
  let queueUrl: string;
  try {
    queueUrl = (await client.send(new CreateQueueCommand({ QueueName: names.queue, Attributes: attributes }))).QueueUrl!;
  } catch (error) {
    // A queue kept in LOCAL_DATA_DIR from a run with other settings: keep its messages, update it.
    if ((error as Error).name !== 'QueueAlreadyExists' && !/already exists/i.test((error as Error).message)) throw error;
    queueUrl = (await client.send(new GetQueueUrlCommand({ QueueName: names.queue }))).QueueUrl!;
    await client.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: attributes }));
  }
  return { queueUrl, queueArn: await arnOf(queueUrl), deadLetterQueueUrl };
}

export function ensureQueues(client: SQSClient, overrides: QueueOverrides = {}): Promise<LocalQueues> {
  return ensureQueuePair(client, { queue: queueSettings.localName, deadLetterQueue: queueSettings.deadLetterQueueLocalName }, overrides);
}

export async function ensureBucket(client: S3Client, bucket: string = payloadBucket.localName): Promise<string> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  return bucket;
}

/** Terra's two AWS destinations as the local stack has them (docs/terra.md §10). */
export interface LocalDestinations {
  /** Terra's SQS destination: `s3_payload` and `healthcheck` messages. */
  queue: LocalQueues;
  /** Terra's S3 destination bucket. */
  bucket: string;
  /** Receives the bucket's ObjectCreated notifications. */
  notifications: LocalQueues;
}

/** The destination queue, bucket and notification queue, each queue with its dead-letter queue. */
export async function ensureDestinations(sqs: SQSClient, s3: S3Client, overrides: QueueOverrides = {}): Promise<LocalDestinations> {
  const queue = await ensureQueuePair(
    sqs,
    { queue: destinations.queue.localName, deadLetterQueue: destinations.queue.deadLetterQueueLocalName },
    overrides,
  );
  const notifications = await ensureQueuePair(
    sqs,
    { queue: destinations.bucket.notificationQueueLocalName, deadLetterQueue: destinations.bucket.notificationDeadLetterQueueLocalName },
    overrides,
  );
  const bucket = await ensureBucket(s3, destinations.bucket.localName);
  return { queue, bucket, notifications };
}

/** The erasure queue of erase on deauth (lambdas/eraser), with its dead-letter queue. */
export function ensureErasureQueues(sqs: SQSClient, overrides: QueueOverrides = {}): Promise<LocalQueues> {
  return ensureQueuePair(sqs, { queue: erasure.queueLocalName, deadLetterQueue: erasure.deadLetterQueueLocalName }, overrides);
}

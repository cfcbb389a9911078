import { dataAttributes } from '../lambdas/shared/attributes';
/**
 * The Lambda side of the consumer rows, in its own process (bench/consumer.ts starts it with the
 * emulators' endpoints in its environment, as DynamoDB and S3 are other machines to a Lambda
 * function): the batch handler wired as lambdas/consumer/handler.ts wires it, timed beside the
 * floor, batch by batch in turn. Its stdout is the function's log stream (discarded); the samples
 * go back to the parent over IPC.
 */
import { createHash, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createBatchHandler } from '../lambdas/consumer/batch';
import { newerCopy } from '../lambdas/shared/ordering';
import { emfConsumerMetrics } from '../lambdas/consumer/metrics';
import { defaults, messageAttributes, observability, payloadBucket, queueSettings } from '../lambdas/shared/definitions';
import { toSqsMessage } from '../lambdas/shared/delivery';
import { createDocumentClient } from '../lambdas/shared/dynamodb';
import { injectContext, JsonLogger } from '../lambdas/shared/json-logger';
import { localQueueUrlOf, toLambdaRecord } from '../lib/local/sqs-event-source';
import { dataEvent, terraUser, withingsActivityRecord, withingsDailyRecord } from '../lib/tools/fixtures';
import { interleaved, timed } from './support';

export interface ConsumerRequest {
  tables: { data: string; users: string; events: string };
  bucket: string;
  /** The floor's own table and bucket, shaped like the product's. */
  floorTable: string;
  floorBucket: string;
  /** The emulator's endpoint: its queue URLs are not the ones an ARN implies (hand-back only). */
  sqsEndpoint: string;
  quick: boolean;
}

export interface ConsumerSamples {
  what: string;
  recordsPerBatch: number;
  /** Milliseconds per batch. */
  product: number[];
  floor: number[];
}

export type ChildMessage = { progress: string } | { results: ConsumerSamples[] };

const queueArn = 'arn:aws:sqs:us-east-1:000000000000:terra-ingest-webhooks';

interface Kind {
  what: string;
  type: 'daily' | 'activity';
  /** The records of one delivery; `variant` picks one of a few days or workouts. */
  records(variant: number, userId: string): Record<string, unknown>[];
}

const day = (variant: number) => new Date(Date.UTC(2026, 10, 1 + variant)).toISOString().slice(0, 10);

const kinds: Kind[] = [
  {
    // Terra's daily summary, data_enrichment null as Terra sends it before scoring.
    what: 'consumer, 1-record daily delivery',
    type: 'daily',
    records: (variant, userId) => [withingsDailyRecord({ user: user(userId), date: day(variant), seed: `bench-${variant}` }) as never],
  },
  {
    // Three workouts synced at once (a watch back in range), data_enrichment null each.
    what: 'consumer, 3-record activity delivery',
    type: 'activity',
    records: (variant, userId) =>
      [0, 1, 2].map(
        (n) =>
          withingsActivityRecord({
            user: user(userId),
            start: Date.parse(`${day(variant)}T07:00:00Z`) + n * 5 * 3_600_000,
            durationSeconds: 1800 + n * 900,
            seed: `bench-${variant}`,
          }) as never,
      ),
  },
];

function user(userId: string) {
  return terraUser({ userId, provider: 'WITHINGS', referenceId: `bench-${userId.slice(0, 8)}`, scopes: 'user.activity,user.metrics' });
}

/** A few distinct record sets per kind, made once; each batch puts them under users never seen. */
const variants = 5;

/** One SQS batch of webhook deliveries, as Lambda's event source hands it over, each of a new user. */
function batchOf(kind: Kind, templates: Record<string, unknown>[][], size: number): SQSRecord[] {
  return Array.from({ length: size }, (_, index) => {
    const userId = randomUUID();
    const records = templates[index % templates.length];
    const body = Buffer.from(JSON.stringify(dataEvent(kind.type, user(userId), records)));
    const now = Date.now();
    const message = toSqsMessage({
      body,
      signatureTimestamp: Math.floor(now / 1000),
      orderingTimestamp: now,
      traceId: randomUUID(),
      receivedAt: new Date(now).toISOString(),
    });
    return toLambdaRecord(
      {
        MessageId: randomUUID(),
        ReceiptHandle: randomUUID(),
        Body: message.MessageBody,
        MD5OfBody: createHash('md5').update(message.MessageBody).digest('hex'),
        MessageAttributes: message.MessageAttributes,
        Attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(now) },
      },
      queueArn,
    );
  });
}

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'bench-consumer',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bench-consumer',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: 'bench',
    logStreamName: 'bench',
    // Never short of time: the consumer's deadline handling is not what is measured.
    getRemainingTimeInMillis: () => 900_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

const request = JSON.parse(process.argv[2]) as ConsumerRequest;

// As handler.ts: the clients take their endpoints from the environment (AWS_ENDPOINT_URL_*); the
// logger writes JSON lines to stdout; the EMF metrics are written when each invocation ends.
const logger = new JsonLogger({ serviceName: observability.services.consumer });
const metrics = emfConsumerMetrics();
const clients = { documentClient: createDocumentClient(), s3: new S3Client({ forcePathStyle: true }), sqs: new SQSClient({}) };
const processBatch = createBatchHandler({
  ...clients,
  tables: request.tables,
  bucket: request.bucket,
  queueUrlOf: localQueueUrlOf(request.sqsEndpoint),
  logger,
  counter: metrics,
});
const flushMetrics = { after: () => metrics.flush(), onError: () => metrics.flush() };
const handler = middy(processBatch).use(injectContext(logger)).use(flushMetrics) as unknown as (
  event: SQSEvent,
  context: Context,
) => Promise<SQSBatchResponse>;

async function product(batch: SQSRecord[]): Promise<number> {
  const event: SQSEvent = { Records: batch };
  let failures = 0;
  const elapsed = await timed(async () => {
    failures = (await handler(event, lambdaContext())).batchItemFailures.length;
  });
  if (failures > 0) throw new Error(`the consumer failed ${failures} of ${batch.length} messages`);
  return elapsed;
}

// The floor's clients: its own, the same SDK and marshalling, so neither side queues behind the other's sockets.
const floorDocuments = createDocumentClient();
const floorS3 = new S3Client({ forcePathStyle: true });

/**
 * The floor for one message, the "bare archive PutObject + conditional PutItems": parse
 * the body, then send, all at once (the writes of one message overlap; it is done when the last
 * one is), one PutObject of the whole body to the floor bucket under `archive/`, and one PutItem
 * per record with the consumer's newest-wins condition, the record stored in the form the product
 * stores it (a map in `payload` up to defaults.recordMapMaxBytes of JSON, else gzipped in
 * `payload_gzip`: the same bytes for DynamoDB, so the floor does not pay for a form the product
 * avoids) beside the keys and the attributes the product's items carry. No index marker, no read,
 * no logging, no metrics.
 */
function storedForm(record: unknown): Record<string, unknown> {
  const json = JSON.stringify(record);
  return Buffer.byteLength(json) <= defaults.recordMapMaxBytes
    ? { [dataAttributes.payload]: record }
    : { [dataAttributes.payloadGzip]: gzipSync(json) };
}

async function floorMessage(message: SQSRecord): Promise<void> {
  const {
    type,
    user: terra,
    data,
  } = JSON.parse(message.body) as {
    type: string;
    user: { user_id: string; provider: string; reference_id: string };
    data: Record<string, never>[];
  };
  const attribute = (name: string) => message.messageAttributes[name]?.stringValue;
  const orderingTs = Number(attribute(messageAttributes.orderingTimestamp));
  const receivedAt = attribute(messageAttributes.receivedAt)!;
  await Promise.all([
    floorS3.send(
      new PutObjectCommand({
        Bucket: request.floorBucket,
        Key: `${payloadBucket.prefixes.archive}${message.messageId}`,
        Body: message.body,
      }),
    ),
    ...data.map((record) => {
      const metadata = record.metadata as { start_time: string; end_time: string; summary_id?: string };
      return floorDocuments.send(
        new PutCommand({
          TableName: request.floorTable,
          Item: {
            [dataAttributes.userId]: terra.user_id,
            [dataAttributes.recordId]: `${type}#${metadata.summary_id ?? metadata.start_time.slice(0, 10)}`,
            [dataAttributes.userType]: `${terra.user_id}#${type}`,
            [dataAttributes.type]: type,
            [dataAttributes.provider]: terra.provider,
            [dataAttributes.referenceId]: terra.reference_id,
            [dataAttributes.startTime]: metadata.start_time,
            [dataAttributes.endTime]: metadata.end_time,
            ...(metadata.summary_id && { [dataAttributes.summaryId]: metadata.summary_id }),
            [dataAttributes.orderingTs]: orderingTs,
            [dataAttributes.receivedAt]: receivedAt,
            // SQS hands over the body's digest; enough to tell a repeat.
            [dataAttributes.bodySha256]: message.md5OfBody,
            ...storedForm(record),
          },
          ...newerCopy({ orderingTs, receivedAt, bodySha256: message.md5OfBody }),
        }),
      );
    }),
  ]);
}

/** Messages one at a time, as the product takes them. */
const floor = (batch: SQSRecord[]) =>
  timed(async () => {
    for (const message of batch) await floorMessage(message);
  });

const send = (message: ChildMessage) => process.send!(message);
const results: ConsumerSamples[] = [];
const batchSize = queueSettings.batchSize;
for (const kind of kinds) {
  const templates = Array.from({ length: variants }, (_, variant) => kind.records(variant, 'template'));
  const rounds = request.quick ? 8 : kind.type === 'daily' ? 60 : 40;
  const warmUp = request.quick ? 2 : 5;
  // Each batch is made (new users, new message ids) outside the timing.
  const run = (count: number) =>
    interleaved(
      count,
      () => product(batchOf(kind, templates, batchSize)),
      () => floor(batchOf(kind, templates, batchSize)),
      (round) => {
        if ((round + 1) % 10 === 0) send({ progress: `${kind.what}: ${round + 1}/${count} rounds` });
      },
    );
  await run(warmUp);
  const samples = await run(rounds);
  results.push({ what: kind.what, recordsPerBatch: batchSize * templates[0].length, ...samples });
}
send({ results });
// Lets the process end (and write a --cpu-prof profile) once the results are sent.
for (const client of [...Object.values(clients), floorDocuments, floorS3]) client.destroy();
process.disconnect();

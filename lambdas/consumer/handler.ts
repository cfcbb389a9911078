import { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { numberEnv, requiredEnv } from '../shared/config';
import { defaults, observability } from '../shared/definitions';
import { createDocumentClient } from '../shared/dynamodb';
import { injectContext, JsonLogger } from '../shared/json-logger';
import { createBatchHandler } from './batch';
import { sqsEraseRequester } from './erase-request';
import { emfConsumerMetrics } from './metrics';

// Parsed once per container; a missing setting fails the cold start loudly.
const tables = {
  data: requiredEnv('DATA_TABLE'),
  users: requiredEnv('USERS_TABLE'),
  events: requiredEnv('EVENTS_TABLE'),
};

const bucket = requiredEnv('PAYLOAD_BUCKET');
// Records whose JSON is larger are stored gzipped rather than as a readable map (stack prop recordMapMaxBytes).
const recordMapMaxBytes = numberEnv('RECORD_MAP_MAX_BYTES', defaults.recordMapMaxBytes);
// Set only when the stack's eraseOnDeauth is on.
const eraseQueueUrl = process.env.ERASE_QUEUE_URL || undefined;

// The consumer talks to SQS only to hand a message back or ask for an erasure: its client is built,
// and its code loaded, on the first such call.
let sqsClient: Promise<SQSClient> | undefined;
const sqs: Pick<SQSClient, 'send'> = {
  send: (async (...args: Parameters<SQSClient['send']>) => {
    sqsClient ??= import('./sqs-client').then(({ newSqsClient }) => newSqsClient());
    return (await sqsClient).send(...args);
  }) as SQSClient['send'],
};

// Named here, not by POWERTOOLS_* variables: the alarms, the dashboard and the log queries use these.
const logger = new JsonLogger({ serviceName: observability.services.consumer });
const metrics = emfConsumerMetrics();

const processBatch = createBatchHandler({
  documentClient: createDocumentClient(),
  tables,
  s3: new S3Client({}),
  bucket,
  recordMapMaxBytes,
  // Hands a Ping download the invocation ran out of time for back to its queue; the queue URL
  // comes from the record's ARN (every queue the consumer reads is in its account and region).
  sqs,
  ...(eraseQueueUrl && { requestErase: sqsEraseRequester(sqs, eraseQueueUrl) }),
  logger,
  counter: metrics,
});

// What the invocation counted is written when it ends, whether it succeeded or threw.
const flushMetrics = { after: () => metrics.flush(), onError: () => metrics.flush() };

export const handler = middy(processBatch).use(injectContext(logger)).use(flushMetrics);

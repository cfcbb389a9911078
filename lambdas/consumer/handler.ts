import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { requiredEnv } from '../shared/config';
import { createDocumentClient } from '../shared/dynamodb';
import { createBatchHandler } from './batch';
import { sqsEraseRequester } from './erase-request';

// Parsed once per container; a missing setting fails the cold start loudly.
const tables = {
  data: requiredEnv('DATA_TABLE'),
  users: requiredEnv('USERS_TABLE'),
  events: requiredEnv('EVENTS_TABLE'),
};

const bucket = requiredEnv('PAYLOAD_BUCKET');
// Set only when the stack's eraseOnDeauth is on.
const eraseQueueUrl = process.env.ERASE_QUEUE_URL || undefined;

const sqs = new SQSClient({});

const logger = new Logger();
const metrics = new Metrics();

const processBatch = createBatchHandler({
  documentClient: createDocumentClient(),
  tables,
  s3: new S3Client({}),
  bucket,
  // Hands a Ping download the invocation ran out of time for back to its queue; the queue URL
  // comes from the record's ARN (every queue the consumer reads is in its account and region).
  sqs,
  ...(eraseQueueUrl && { requestErase: sqsEraseRequester(sqs, eraseQueueUrl) }),
  logger,
  counter: {
    count: ({ outcome, written, skipped }) => {
      metrics.addMetric('ItemsWritten', MetricUnit.Count, written);
      metrics.addMetric('StaleOrRepeatedSkipped', MetricUnit.Count, skipped);
      if (outcome) {
        // One metric per outcome, so "invalid" or "unknown_type" can be alarmed on.
        metrics.singleMetric().addDimension('outcome', outcome).addMetric('EventsKept', MetricUnit.Count, 1);
      }
    },
  },
});

export const handler = middy(processBatch).use(injectLambdaContext(logger)).use(logMetrics(metrics));

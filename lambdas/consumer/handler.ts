import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { requiredEnv } from '../shared/config';
import { observability } from '../shared/definitions';
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

// Named here, not by POWERTOOLS_* variables: the alarms, the dashboard and the log queries use these.
const service = observability.services.consumer;
const logger = new Logger({ serviceName: service });
const metrics = new Metrics({ namespace: observability.namespace, serviceName: service });
const names = observability.metrics;

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
    count: ({ outcome, written, skipped, payloadBytes }) => {
      metrics.addMetric(names.itemsWritten, MetricUnit.Count, written);
      metrics.addMetric(names.staleOrRepeatedSkipped, MetricUnit.Count, skipped);
      if (payloadBytes !== undefined) metrics.addMetric(names.payloadBytes, MetricUnit.Bytes, payloadBytes);
      if (outcome) {
        // One metric per outcome, so "invalid" or "unknown_type" can be alarmed on.
        metrics.singleMetric().addDimension('outcome', outcome).addMetric(names.eventsKept, MetricUnit.Count, 1);
      }
    },
    pingDownloadFailed: () => metrics.addMetric(names.pingDownloadFailures, MetricUnit.Count, 1),
  },
});

export const handler = middy(processBatch).use(injectLambdaContext(logger)).use(logMetrics(metrics));

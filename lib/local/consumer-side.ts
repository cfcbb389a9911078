import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createBatchHandler, type OutcomeCounter } from '../../lambdas/consumer/batch';
import { sqsEraseRequester } from '../../lambdas/consumer/erase-request';
import { createEraserHandler } from '../../lambdas/eraser/requests';
import { tables } from '../../lambdas/shared/definitions';
import { createDocumentClient } from '../../lambdas/shared/dynamodb';
import type { Logger } from '../../lambdas/shared/logger';
import { localCredentials, localRegion } from './emulators';
import { startS3Notifier } from './s3-notifier';
import { localQueueUrlOf, type RunningEventSource, startSqsEventSource } from './sqs-event-source';

/**
 * What runs behind the queues locally, as Lambda runs it in AWS: the event source mappings driving
 * the real consumer (the webhook's queue, Terra's SQS destination, the S3 destination's
 * notifications), the eraser, and the stand-in of S3's notifications. It reaches the emulators
 * over HTTP only, so it runs the same in the stack's thread or in a worker (consumer-thread.ts):
 * its configuration is plain data, its hooks are functions.
 */

export interface ConsumerSideConfig {
  /** fauxqs: SQS and S3. */
  sqsEndpoint: string;
  dynamoDbEndpoint: string;
  /** The payload bucket. */
  bucket: string;
  /** The queues the consumer's event sources poll. */
  polled: { queueUrl: string; queueArn: string }[];
  /** Concurrent batches per queue. */
  concurrency?: number;
  maxReceiveCount?: number;
  /** Erase on deauth: the erasure queue, polled by the eraser, and how long a request waits there. */
  erasure?: { queueUrl: string; queueArn: string; delaySeconds?: number };
  /** The S3 destination bucket the notification stand-in watches, and the queue it notifies. */
  notifications: { bucket: string; queueUrl: string; statePath?: string; intervalMs?: number };
  /** Whether the consumer's event sources poll from the start. */
  eventSourcesEnabled: boolean;
}

/** What cannot be plain data: the only part that differs between the two threads. */
export interface ConsumerSideHooks {
  /** The stack's own lines: the eraser's, failed polls, the notification stand-in's. */
  logger: Logger;
  /** The consumer function's lines. */
  consumerLogger: Logger;
  counter?: OutcomeCounter;
  wrapDocumentClient?: (client: DynamoDBDocumentClient) => DynamoDBDocumentClient;
  wrapS3Client?: (client: S3Client) => S3Client;
  fetch?: typeof fetch;
}

export interface RunningConsumerSide {
  /** The consumer's event sources (not the eraser's): see LocalStack.eventSources. */
  enable(): void;
  disable(): Promise<void>;
  /** Stops polling, waits for the batches in flight, and lets the clients go. */
  stop(): Promise<void>;
}

const localTables = { data: tables.data.localName, users: tables.users.localName, events: tables.events.localName };

export function startConsumerSide(config: ConsumerSideConfig, hooks: ConsumerSideHooks): RunningConsumerSide {
  const { logger } = hooks;
  const clientConfig = { region: localRegion, credentials: localCredentials };
  const documentClient = createDocumentClient({ ...clientConfig, endpoint: config.dynamoDbEndpoint });
  const sqs = new SQSClient({ ...clientConfig, endpoint: config.sqsEndpoint });
  // fauxqs serves S3 on the same port, path-style.
  const s3 = new S3Client({ ...clientConfig, endpoint: config.sqsEndpoint, forcePathStyle: true });
  const { erasure } = config;
  const requestErase = erasure && sqsEraseRequester(sqs, erasure.queueUrl, { delaySeconds: erasure.delaySeconds });

  const handleBatch = createBatchHandler({
    documentClient: hooks.wrapDocumentClient?.(documentClient) ?? documentClient,
    tables: localTables,
    s3: hooks.wrapS3Client?.(s3) ?? s3,
    bucket: config.bucket,
    maxReceiveCount: config.maxReceiveCount,
    fetch: hooks.fetch,
    sqs,
    queueUrlOf: localQueueUrlOf(config.sqsEndpoint),
    ...(requestErase && { requestErase }),
    logger: hooks.consumerLogger,
    ...(hooks.counter && { counter: hooks.counter }),
  });
  // One event source mapping per queue, all invoking the one consumer.
  const consumerSources: RunningEventSource[] = config.polled.map((polled) =>
    startSqsEventSource({
      client: sqs,
      queueUrl: polled.queueUrl,
      queueArn: polled.queueArn,
      concurrency: config.concurrency,
      enabled: config.eventSourcesEnabled,
      handler: handleBatch,
      onError: (error) => logger.warn('consumer poll failed', { queueUrl: polled.queueUrl, error: String(error) }),
    }),
  );
  const eraser =
    erasure &&
    startSqsEventSource({
      client: sqs,
      queueUrl: erasure.queueUrl,
      queueArn: erasure.queueArn,
      concurrency: 1,
      handler: createEraserHandler({ documentClient, tables: localTables, s3, bucket: config.bucket, logger }),
      onError: (error) => logger.warn('eraser poll failed', { error: String(error) }),
    });
  // S3 notifies the queue itself in AWS; fauxqs cannot, so the local stack does (s3-notifier.ts).
  const notifier = startS3Notifier({
    s3,
    sqs,
    bucket: config.notifications.bucket,
    queueUrl: config.notifications.queueUrl,
    region: localRegion,
    statePath: config.notifications.statePath,
    intervalMs: config.notifications.intervalMs,
    onError: (error) => logger.warn('S3 notification stand-in: listing the destination bucket failed', { error: String(error) }),
  });

  return {
    enable: () => {
      for (const source of consumerSources) source.enable();
    },
    disable: async () => void (await Promise.all(consumerSources.map((source) => source.disable()))),
    async stop() {
      for (const stop of [() => notifier.stop(), () => eraser?.stop(), ...consumerSources.map((source) => () => source.stop())]) {
        await Promise.resolve(stop()).catch((error: unknown) => logger.error('stop failed', { error: String(error) }));
      }
      documentClient.destroy();
      sqs.destroy();
      s3.destroy();
    },
  };
}

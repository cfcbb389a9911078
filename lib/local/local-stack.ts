import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { OutcomeCounter } from '../../lambdas/consumer/batch';
import type { IngestMetrics } from '../../lambdas/ingest/metrics';
import { sqsEnqueueWithReceipt } from '../../lambdas/ingest/queue';
import { createWebhookHandler } from '../../lambdas/ingest/webhook';
import { defaults, tables } from '../../lambdas/shared/definitions';
import { createDocumentClient } from '../../lambdas/shared/dynamodb';
import type { Logger } from '../../lambdas/shared/logger';
import { parseSourceIpAllowlist } from '../../lambdas/shared/source-ips';
import { localCredentials, localRegion, type RunningService, startDynamoDb, startSqsAndS3 } from './emulators';
import { startHttpApi } from './http-api';
import {
  ensureBucket,
  ensureDestinations,
  ensureErasureQueues,
  ensureQueues,
  ensureTables,
  type LocalDestinations,
  type LocalQueues,
  type QueueOverrides,
} from './provision';
import { type ConsumerSideConfig, type ConsumerSideHooks, type RunningConsumerSide, startConsumerSide } from './consumer-side';
import { type ConsumerThread, startConsumerThread } from './consumer-thread';
import { startTerraApiStandIn } from './terra-api/server';

/**
 * The whole product on one machine: the real ingest and consumer handlers, wired to embedded
 * DynamoDB and SQS/S3 servers, behind a stand-in for API Gateway and Lambda's SQS event source.
 */

export interface LocalStackOptions {
  /** Webhook API port; 0 picks a free one. */
  port: number;
  dynamoDbPort: number;
  sqsPort: number;
  /** dynamodb-admin's port, or undefined for no browser view. */
  adminPort?: number;
  /** Where state survives restarts; undefined keeps everything in memory. */
  dataDir?: string;
  signingSecrets: readonly string[];
  toleranceSeconds?: number;
  queue?: QueueOverrides;
  /** Concurrent consumer batches per queue; defaultConsumerConcurrency unless given. */
  consumerConcurrency?: number;
  /**
   * Where the consumer runs: its event sources, the batch handler, the eraser, the stand-in of S3
   * notifications, and dynalite with them.
   * - `'worker'`: a worker thread of its own, so its work never holds up an acknowledgement in
   *   this thread (the webhook API, the ingest handler, fauxqs). Its log lines and counted
   *   outcomes still reach `logger`, `loggers` and `metrics` here, a turn of its event loop later.
   * - `'main'`: this thread, interleaved with the acknowledgements, as before.
   *
   * The rule: `'worker'` unless one of the hooks that must run beside the consumer is given
   * (`wrapDocumentClient`, `wrapS3Client`, `fetch`: functions cannot cross to another thread),
   * then `'main'`. Asking for `'worker'` with one of them throws.
   */
  consumerThread?: 'worker' | 'main';
  /** Whether the consumer's event sources poll from the start (see LocalStack.eventSources); true unless given. */
  eventSourcesEnabled?: boolean;
  logger: Logger;
  /**
   * The ingest and consumer functions' own loggers, as in AWS where each has its log group and
   * `service` (tests capture them); `logger` unless given.
   */
  loggers?: { ingest?: Logger; consumer?: Logger };
  /** What the functions count (CloudWatch metrics in AWS); nothing unless given. */
  metrics?: { ingest?: IngestMetrics; consumer?: OutcomeCounter };
  /** `ALLOWED_SOURCE_IPS` of the ingest function (comma-separated addresses and CIDR blocks); off unless given. */
  allowedSourceIps?: string;
  /** Lets a test put a failing client between the consumer and DynamoDB. */
  wrapDocumentClient?: (client: DynamoDBDocumentClient) => DynamoDBDocumentClient;
  /** Lets a test put a failing client between the consumer and S3. */
  wrapS3Client?: (client: S3Client) => S3Client;
  now?: () => number;
  /** The consumer's HTTP client for Ping-mode downloads (tests put a failing one here). */
  fetch?: typeof fetch;
  /** How often the destination bucket is looked at for new objects (S3 notifications' stand-in). */
  s3NotificationIntervalMs?: number;
  /**
   * Erase on deauth (the stack prop `eraseOnDeauth`): the consumer asks through the erasure queue,
   * the eraser erases. `delaySeconds` defaults to `erasure.delaySeconds`.
   */
  eraseOnDeauth?: { delaySeconds?: number };
  /** Port of the stand-in of Terra's REST API for history (lib/local/terra-api); 0 picks a free one, undefined serves none. */
  terraApiPort?: number;
}

export interface LocalStack {
  webhookUrl: string;
  healthUrl: string;
  port: number;
  adminUrl?: string;
  dynamoDb: RunningService;
  sqs: RunningService;
  queues: LocalQueues;
  tableNames: { data: string; users: string; events: string };
  bucket: string;
  /** Terra's SQS and S3 destinations (docs/terra.md §10), always present locally. */
  destinations: {
    /** Terra's SQS destination: where Terra sends `s3_payload` and `healthcheck` messages. */
    queueUrl: string;
    deadLetterQueueUrl: string;
    /** Terra's S3 destination: where Terra writes whole events. */
    bucket: string;
    /** Receives the bucket's ObjectCreated notifications (raised locally by lib/local/s3-notifier.ts). */
    notificationQueueUrl: string;
    notificationDeadLetterQueueUrl: string;
  };
  /** Clients pointed at the emulators, for tools and tests. */
  clients: { dynamoDb: DynamoDBClient; documentClient: DynamoDBDocumentClient; sqs: SQSClient; s3: S3Client };
  /** Erase on deauth's queues; set when `eraseOnDeauth` was. */
  erasureQueues?: LocalQueues;
  /** The stand-in of Terra's REST API (not Terra), delivering to `webhookUrl`; set when `terraApiPort` was. */
  terraApiUrl?: string;
  /** Where the consumer runs (LocalStackOptions.consumerThread). */
  consumerThread: 'worker' | 'main';
  /**
   * The consumer's event source mappings (not the eraser's), as Lambda's `Enabled` flag: while
   * disabled, deliveries are acknowledged and wait in their queues. `disable` resolves once the
   * batches in flight are processed.
   */
  eventSources: { enable(): Promise<void>; disable(): Promise<void> };
  stop(): Promise<void>;
}

/** Concurrent consumer batches per queue unless `consumerConcurrency` says otherwise (`CONSUMER_CONCURRENCY`). */
export const defaultConsumerConcurrency = 2;

const inThreadHooks = ['wrapDocumentClient', 'wrapS3Client', 'fetch'] as const;

/** LocalStackOptions.consumerThread's rule. */
export function consumerThreadOf(options: Pick<LocalStackOptions, 'consumerThread' | (typeof inThreadHooks)[number]>): 'worker' | 'main' {
  const given = inThreadHooks.filter((hook) => options[hook] !== undefined);
  if (options.consumerThread === 'worker' && given.length > 0) {
    throw new Error(
      `consumerThread 'worker' cannot take ${given.join(', ')}: functions cannot cross to another thread; use consumerThread 'main'`,
    );
  }
  return options.consumerThread ?? (process.env.XP_MODE as 'main') ?? (given.length > 0 ? 'main' : 'worker');
}

export const localTableNames = {
  data: tables.data.localName,
  users: tables.users.localName,
  events: tables.events.localName,
};

async function startAdmin(client: DynamoDBClient, port: number): Promise<{ url: string; server: Server }> {
  // dynamodb-admin is CommonJS and heavy: loaded only when the browser view is wanted.
  const { createServer } = await import('dynamodb-admin');
  const app = createServer({ dynamoDbClient: client });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(port, '127.0.0.1', () => resolve(listening));
    listening.once('error', reject);
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { logger } = options;
  // Parsed before anything starts: a malformed entry fails the start, as it fails a cold start.
  const allowedSourceIps = parseSourceIpAllowlist(options.allowedSourceIps);
  const consumerThread = consumerThreadOf(options);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error) => logger.error('stop failed', { error: String(error) }));
  };
  try {
    let thread: ConsumerThread | undefined;
    let dynamoDb: RunningService;
    if (consumerThread === 'worker') {
      const started = await startConsumerThread({
        logger,
        consumerLogger: options.loggers?.consumer ?? logger,
        counter: options.metrics?.consumer,
      });
      thread = started;
      stops.push(() => started.stop());
      if (process.env.XP_DYNAMO_OWN) {
        const own = await startConsumerThread({ logger, consumerLogger: logger });
        stops.push(() => own.stop());
        dynamoDb = await own.startDynamoDb(options.dynamoDbPort, options.dataDir);
      } else {
        dynamoDb = process.env.XP_DYNAMO_MAIN
          ? await startDynamoDb(options.dynamoDbPort, options.dataDir)
          : await started.startDynamoDb(options.dynamoDbPort, options.dataDir);
        if (process.env.XP_DYNAMO_MAIN) stops.push(() => dynamoDb.stop());
      }
    } else {
      dynamoDb = await startDynamoDb(options.dynamoDbPort, options.dataDir);
      stops.push(() => dynamoDb.stop());
    }
    const sqsServer = await startSqsAndS3(options.sqsPort, options.dataDir);
    stops.push(() => sqsServer.stop());

    const clientConfig = { region: localRegion, credentials: localCredentials };
    const dynamoDbClient = new DynamoDBClient({ ...clientConfig, endpoint: dynamoDb.endpoint });
    const documentClient = createDocumentClient({ ...clientConfig, endpoint: dynamoDb.endpoint });
    const sqs = new SQSClient({ ...clientConfig, endpoint: sqsServer.endpoint });
    // fauxqs serves S3 on the same port, path-style.
    const s3 = new S3Client({ ...clientConfig, endpoint: sqsServer.endpoint, forcePathStyle: true });
    stops.push(async () => {
      dynamoDbClient.destroy();
      documentClient.destroy();
      sqs.destroy();
      s3.destroy();
    });

    await ensureTables(dynamoDbClient);
    const queues = await ensureQueues(sqs, options.queue);
    const bucket = await ensureBucket(s3);
    const terraDestinations: LocalDestinations = await ensureDestinations(sqs, s3, options.queue);

    const erasureQueues = options.eraseOnDeauth ? await ensureErasureQueues(sqs, options.queue) : undefined;

    const config: ConsumerSideConfig = {
      sqsEndpoint: sqsServer.endpoint,
      dynamoDbEndpoint: dynamoDb.endpoint,
      bucket,
      // One event source mapping per queue, all invoking the one consumer: the webhook's queue,
      // Terra's SQS destination, and the S3 destination's notification queue.
      polled: [queues, terraDestinations.queue, terraDestinations.notifications].map(({ queueUrl, queueArn }) => ({ queueUrl, queueArn })),
      concurrency: options.consumerConcurrency ?? defaultConsumerConcurrency,
      maxReceiveCount: options.queue?.maxReceiveCount,
      ...(erasureQueues && {
        erasure: { queueUrl: erasureQueues.queueUrl, queueArn: erasureQueues.queueArn, delaySeconds: options.eraseOnDeauth?.delaySeconds },
      }),
      notifications: {
        bucket: terraDestinations.bucket,
        queueUrl: terraDestinations.notifications.queueUrl,
        statePath: options.dataDir ? join(options.dataDir, 's3-notifications.json') : undefined,
        intervalMs: options.s3NotificationIntervalMs,
      },
      eventSourcesEnabled: options.eventSourcesEnabled ?? true,
    };
    let eventSources: LocalStack['eventSources'];
    if (thread) {
      const running = thread;
      await running.startConsumer(config);
      stops.push(() => running.stopConsumer());
      eventSources = { enable: () => running.enable(), disable: () => running.disable() };
    } else {
      const hooks: ConsumerSideHooks = {
        logger,
        consumerLogger: options.loggers?.consumer ?? logger,
        counter: options.metrics?.consumer,
        wrapDocumentClient: options.wrapDocumentClient,
        wrapS3Client: options.wrapS3Client,
        fetch: options.fetch,
      };
      const side: RunningConsumerSide = startConsumerSide(config, hooks);
      stops.push(() => side.stop());
      eventSources = { enable: async () => side.enable(), disable: () => side.disable() };
    }

    const acceptWebhook = createWebhookHandler({
      signingSecrets: async () => options.signingSecrets,
      enqueue: sqsEnqueueWithReceipt(sqs, queues.queueUrl, { bucket, client: async () => s3 }),
      toleranceSeconds: options.toleranceSeconds ?? defaults.signatureToleranceSeconds,
      now: options.now ?? Date.now,
      logger: options.loggers?.ingest ?? logger,
      ...(options.metrics?.ingest && { metrics: options.metrics.ingest }),
      ...(allowedSourceIps && { allowedSourceIps }),
    });
    const api = await startHttpApi({
      port: options.port,
      webhook: acceptWebhook,
      health: async () => {
        const checks = await Promise.allSettled([
          dynamoDbClient.send(new ListTablesCommand({ Limit: 1 })),
          sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] })),
        ]);
        const [dynamo, queue] = checks;
        return {
          healthy: checks.every((check) => check.status === 'fulfilled'),
          detail: {
            dynamodb: dynamo.status === 'fulfilled' ? 'ok' : 'unreachable',
            sqs: queue.status === 'fulfilled' ? 'ok' : 'unreachable',
            queued: queue.status === 'fulfilled' ? Number(queue.value.Attributes?.ApproximateNumberOfMessages ?? 0) : undefined,
          },
        };
      },
    });
    // The API stops first, so nothing new is acknowledged while the rest shuts down.
    stops.push(() => api.stop());

    let terraApiUrl: string | undefined;
    if (options.terraApiPort !== undefined) {
      // Stopped before the webhook API (stops run in reverse), so its last deliveries still land.
      const terraApiStandIn = await startTerraApiStandIn({
        port: options.terraApiPort,
        webhookUrl: `${api.url}/webhook`,
        signingSecret: options.signingSecrets[0]!,
        logger,
        now: options.now,
      });
      terraApiUrl = terraApiStandIn.url;
      stops.push(() => terraApiStandIn.stop());
    }

    let adminUrl: string | undefined;
    if (options.adminPort !== undefined) {
      const admin = await startAdmin(dynamoDbClient, options.adminPort);
      adminUrl = admin.url;
      stops.push(() => new Promise<void>((resolve) => admin.server.close(() => resolve())));
    }

    return {
      webhookUrl: `${api.url}/webhook`,
      healthUrl: `${api.url}/health`,
      port: api.port,
      adminUrl,
      dynamoDb,
      sqs: sqsServer,
      queues,
      tableNames: localTableNames,
      bucket,
      destinations: {
        queueUrl: terraDestinations.queue.queueUrl,
        deadLetterQueueUrl: terraDestinations.queue.deadLetterQueueUrl,
        bucket: terraDestinations.bucket,
        notificationQueueUrl: terraDestinations.notifications.queueUrl,
        notificationDeadLetterQueueUrl: terraDestinations.notifications.deadLetterQueueUrl,
      },
      clients: { dynamoDb: dynamoDbClient, documentClient, sqs, s3 },
      terraApiUrl,
      erasureQueues,
      consumerThread,
      eventSources,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

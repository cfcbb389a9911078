import { dataAttributes } from '../lambdas/shared/attributes';
/**
 * The floors of the local stack's rows (bench/local.ts), on the stack's own emulators:
 * - ingest: a bare node:http server that checks the HMAC and sends the body, with the two message
 *   attributes the consumer needs, in one SendMessage, then answers 200;
 * - consumer: bare loops (as many as the stack's pollers of the webhook queue) receiving batches
 *   of 10, and per delivery one archive PutObject and one conditional PutItem per record at once,
 *   one delivery at a time as the product takes them, then one DeleteMessageBatch; into a queue,
 *   table and bucket of their own.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { newerCopy } from '../lambdas/shared/ordering';
import { messageAttributes, payloadBucket, queueSettings, tables } from '../lambdas/shared/definitions';
import { toSqsMessage } from '../lambdas/shared/delivery';
import { createDocumentClient } from '../lambdas/shared/dynamodb';
import { localCredentials, localRegion } from '../lib/local/emulators';
import { defaultConsumerConcurrency, type LocalStack } from '../lib/local/local-stack';
import { createTableInput } from '../lib/local/provision';
import { dataEvent, terraUser, withingsBodyRecord } from '../lib/tools/fixtures';

const floorName = 'bench-local-floor';

/** A Withings weigh-in (~1.3 KB), each of a user never seen, so every delivery is a real write. */
export function smallEvent(userId = randomUUID()): string {
  const user = terraUser({ userId, provider: 'WITHINGS', referenceId: `bench-${userId.slice(0, 8)}`, scopes: 'body' });
  return JSON.stringify(dataEvent('body', user, [withingsBodyRecord({ user, date: '2026-11-21', seed: 'bench' })]));
}

/** The SQS message the ingest function makes of a delivery: for backlogs queued without HTTP. */
export function queuedDelivery(body: string) {
  const now = Date.now();
  return toSqsMessage({ body: Buffer.from(body), signatureTimestamp: Math.floor(now / 1000), receivedAt: new Date(now).toISOString() });
}

export async function sendBatches(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    const entries = bodies.slice(start, start + 10).map((body, index) => ({ Id: String(index), ...queuedDelivery(body) }));
    const { Failed = [] } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (Failed.length > 0) throw new Error(`queueing a backlog: ${Failed.length} messages refused`);
  }
}

export interface FloorPipeline {
  /** The ingest floor, enqueueing to the stack's webhook queue (the stack's consumer stores it). */
  ingestUrl: string;
  /** The ingest floor, enqueueing to the floor's queue (the floor consumer stores it). */
  pipelineUrl: string;
  /** When the floor consumer stored this user's delivery. */
  watch(userId: string): () => Promise<number>;
  /** Milliseconds the floor consumer takes to store `count` deliveries queued beforehand. */
  drain(count: number): Promise<number>;
  startConsumer(): Promise<void>;
  stopConsumer(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFloorPipeline(stack: LocalStack, secret: string): Promise<FloorPipeline> {
  const config = { region: localRegion, credentials: localCredentials };
  const sqs = new SQSClient({ ...config, endpoint: stack.sqs.endpoint });
  const s3 = new S3Client({ ...config, endpoint: stack.sqs.endpoint, forcePathStyle: true });
  const documentClient = createDocumentClient({ ...config, endpoint: stack.dynamoDb.endpoint });
  await stack.clients.dynamoDb.send(new CreateTableCommand({ ...createTableInput(tables.data), TableName: floorName }));
  await s3.send(new CreateBucketCommand({ Bucket: floorName }));
  const { QueueUrl: floorQueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: floorName, Attributes: { VisibilityTimeout: String(queueSettings.visibilityTimeoutSeconds) } }),
  );

  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = String(incoming.headers['terra-signature']);
      const timestamp = header.slice(2, header.indexOf(','));
      const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
      if (!timingSafeEqual(expected, Buffer.from(header.slice(header.indexOf('v1=') + 3), 'hex'))) {
        response.writeHead(401).end();
        return;
      }
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: incoming.url === '/pipeline' ? floorQueueUrl : stack.queues.queueUrl,
          MessageBody: body,
          MessageAttributes: {
            [messageAttributes.signatureTimestamp]: { DataType: 'Number', StringValue: timestamp },
            [messageAttributes.receivedAt]: { DataType: 'String', StringValue: new Date().toISOString() },
          },
        }),
      );
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const watched = new Map<string, { at?: number; resolve?: (at: number) => void }>();
  let stored = 0;
  let reached: { count: number; resolve: () => void } | undefined;

  const store = async (message: Message) => {
    const { type, user, data } = JSON.parse(message.Body!) as {
      type: string;
      user: { user_id: string; provider: string };
      data: { metadata: { start_time: string; end_time: string } }[];
    };
    const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
    const orderingTs = Number(attribute(messageAttributes.signatureTimestamp)) * 1000;
    const receivedAt = attribute(messageAttributes.receivedAt)!;
    await Promise.all([
      s3.send(
        new PutObjectCommand({ Bucket: floorName, Key: `${payloadBucket.prefixes.archive}${message.MessageId}`, Body: message.Body }),
      ),
      ...data.map((record) =>
        documentClient.send(
          new PutCommand({
            TableName: floorName,
            Item: {
              [dataAttributes.userId]: user.user_id,
              [dataAttributes.recordId]: `${type}#${record.metadata.start_time.slice(0, 10)}`,
              [dataAttributes.userType]: `${user.user_id}#${type}`,
              [dataAttributes.type]: type,
              [dataAttributes.provider]: user.provider,
              [dataAttributes.startTime]: record.metadata.start_time,
              [dataAttributes.endTime]: record.metadata.end_time,
              [dataAttributes.orderingTs]: orderingTs,
              [dataAttributes.receivedAt]: receivedAt,
              [dataAttributes.bodySha256]: message.MD5OfBody,
              [dataAttributes.payload]: record,
            },
            ...newerCopy({ orderingTs, receivedAt, bodySha256: message.MD5OfBody! }),
          }),
        ),
      ),
    ]);
    const at = performance.now();
    stored++;
    const watch = watched.get(user.user_id);
    if (watch) {
      watch.at = at;
      watch.resolve?.(at);
    }
    if (reached && stored >= reached.count) reached.resolve();
  };

  // Stopped by a flag, never by aborting a long poll: fauxqs would hand the next messages to the
  // abandoned poll, and they would stay invisible for the visibility timeout.
  let consumer: { running: boolean; loops: Promise<void>[] } | undefined;
  const loop = async (state: { running: boolean }) => {
    while (state.running) {
      const { Messages: messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: floorQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
      );
      if (messages.length === 0) continue;
      for (const message of messages) await store(message);
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: floorQueueUrl,
          Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
  };
  const startConsumer = async () => {
    if (consumer) return;
    const state = { running: true, loops: [] as Promise<void>[] };
    state.loops = Array.from({ length: defaultConsumerConcurrency }, () => loop(state));
    consumer = state;
  };
  const stopConsumer = async () => {
    const current = consumer;
    consumer = undefined;
    if (!current) return;
    current.running = false;
    await Promise.all(current.loops);
  };

  return {
    ingestUrl: `${base}/ingest`,
    pipelineUrl: `${base}/pipeline`,
    watch(userId) {
      const watch: { at?: number; resolve?: (at: number) => void } = {};
      watched.set(userId, watch);
      return () => {
        const done = watch.at !== undefined ? Promise.resolve(watch.at) : new Promise<number>((resolve) => (watch.resolve = resolve));
        return done.finally(() => watched.delete(userId));
      };
    },
    async drain(count) {
      await sendBatches(
        sqs,
        floorQueueUrl!,
        Array.from({ length: count }, () => smallEvent()),
      );
      let watchdog: NodeJS.Timeout | undefined;
      const done = new Promise<void>((resolve, reject) => {
        reached = { count: stored + count, resolve };
        let seen = stored;
        watchdog = setInterval(() => {
          if (stored > seen) seen = stored;
          else reject(new Error(`floor stuck at ${stored} stored`));
        }, 60_000);
      }).finally(() => clearInterval(watchdog));
      const started = performance.now();
      await startConsumer();
      await done;
      const elapsed = performance.now() - started;
      await stopConsumer();
      return elapsed;
    },
    startConsumer,
    stopConsumer,
    async stop() {
      await stopConsumer();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      sqs.destroy();
      s3.destroy();
      documentClient.destroy();
    },
  };
}

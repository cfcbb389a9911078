import { eventItemKey, readEventItem } from '../../lambdas/shared/table-items';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createBatchHandler } from '../../lambdas/consumer/batch';
import { eventId } from '../../lambdas/consumer/items';
import { toSqsMessage } from '../../lambdas/shared/delivery';
import { silentLogger } from '../../lambdas/shared/logger';
import type { LocalStack } from '../../lib/local/local-stack';
import { localQueueUrlOf, type RunningEventSource, startSqsEventSource } from '../../lib/local/sqs-event-source';
import { deliver, startTestStack, userRecords, waitFor } from '../support/local';

/**
 * Ping mode under time pressure: the pre-signed URLs of a batch are fetched side by side, and a
 * download the invocation has no time left for is handed back to the queue at once, not left
 * for the visibility timeout (by which time its URL has expired) nor kept as ping_fetch_failed.
 */

// High on purpose: a message not handed back would come back only after the test's timeout.
const visibilityTimeoutSeconds = 300;

const activity = (userId: string) => ({
  type: 'activity',
  version: '2022-03-16',
  user: { user_id: userId, provider: 'XOSS' },
  data: [
    {
      metadata: {
        summary_id: `ride-${userId.slice(0, 8)}`,
        start_time: '2026-11-21T07:00:00+00:00',
        end_time: '2026-11-21T08:00:00+00:00',
        upload_type: 1,
      },
    },
  ],
});

type Answer = { delayMs: number; body: string } | 'stall';

/**
 * A stand-in for Terra's bucket behind pre-signed URLs, on 127.0.0.1: answers each request as
 * `answer` says (late, or never: a stalled request stays open until the client gives up), and
 * records every request and the most requests it had open at once.
 */
class PayloadServer {
  readonly requests: { path: string; at: number }[] = [];
  maxOpen = 0;
  private open = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private server!: Server;
  private base = '';

  constructor(private readonly answer: (path: string, tryNumber: number) => Answer) {}

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const path = request.url ?? '/';
      this.requests.push({ path, at: Date.now() });
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      response.on('close', () => this.open--);
      const answer = this.answer(path, this.requests.filter((seen) => seen.path === path).length);
      if (answer === 'stall') return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        response.writeHead(200, { 'content-type': 'application/json' }).end(answer.body);
      }, answer.delayMs);
      this.timers.add(timer);
    });
    // Bounded: the tests never need more than a batch's worth of connections.
    this.server.maxConnections = 20;
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  triesOf(path: string) {
    return this.requests.filter((request) => request.path === path);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const pingOf = (url: string) => JSON.stringify({ type: 's3_payload', status: 'success', url, expires_in: 300 });

async function kept(stack: LocalStack, body: string) {
  const { Item } = await stack.clients.documentClient.send(
    new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(eventId(Buffer.from(body))), ConsistentRead: true }),
  );
  return Item;
}

const payloads = new Map<string, string>();
const server = new PayloadServer((path, tryNumber) => {
  const body = payloads.get(path) ?? '{}';
  if (path.startsWith('/slow/')) return { delayMs: 3_000, body };
  if (path.startsWith('/stalls-once/')) return tryNumber === 1 ? 'stall' : { delayMs: 0, body };
  return { delayMs: 0, body };
});

let stack: LocalStack;
beforeAll(async () => {
  await server.start();
  // One poller per queue, so two downloads open at once can only be one batch's.
  stack = await startTestStack({ queue: { visibilityTimeoutSeconds }, consumerConcurrency: 1 });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await server.stop();
});

describe('a batch of Ping deliveries', () => {
  it('fetches its downloads side by side, so slow ones all finish in one invocation', async () => {
    const users = Array.from({ length: 4 }, () => randomUUID());
    const pings = users.map((userId) => {
      const path = `/slow/${userId}.json`;
      payloads.set(path, JSON.stringify(activity(userId)));
      return { path, body: pingOf(server.url(path)) };
    });
    // As the ingest function enqueues them, in one batch.
    await stack.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.queues.queueUrl,
        Entries: pings.map(({ body }, index) => ({
          Id: String(index),
          ...toSqsMessage({
            body: Buffer.from(body),
            signatureTimestamp: Math.floor(Date.now() / 1000),
            receivedAt: new Date().toISOString(),
          }),
        })),
      }),
    );
    for (const userId of users)
      await waitFor(async () => ((await userRecords(stack, userId)).length > 0 ? true : undefined), `user ${userId}'s activity`, 90_000);
    // Each URL was asked for once: no message failed and came back.
    for (const { path } of pings) expect(server.triesOf(path)).toHaveLength(1);
    // One at a time, the slow downloads would never have overlapped (one poller per queue).
    expect(server.maxOpen).toBeGreaterThanOrEqual(2);
    for (const { body } of pings) expect(await kept(stack, body)).toBeUndefined();
  }, 120_000);

  it('keeps a Ping with an unusable URL as ping_fetch_failed at once, without retrying it', async () => {
    const body = JSON.stringify({ type: 's3_payload', status: 'success', url: `not a url ${randomUUID()}`, expires_in: 300 });
    expect((await deliver(stack, body)).status).toBe(200);
    // A retry would come back only after the visibility timeout, long after this wait.
    const item = await waitFor(() => kept(stack, body), 'the kept s3_payload', 30_000);
    expect(readEventItem(item)).toMatchObject({
      type: 's3_payload',
      outcome: 'ping_fetch_failed',
      reason: expect.stringMatching(/not a valid URL/),
    });
  }, 60_000);
});

describe('a Ping download the invocation has no time left for', () => {
  // A short Lambda timeout (the event source's override) and write margin, so a stalled download
  // outlives the invocation within a test; the consumer is the real batch handler.
  const timeoutSeconds = 8;
  let queueUrl: string;
  let eventSource: RunningEventSource | undefined;
  const receives: { messageId: string; receiveCount: number }[] = [];

  beforeAll(async () => {
    // Terra's SQS destination, as a queue of its own: the stack's pollers never read it.
    const name = `ping-deadline-${randomUUID()}`;
    queueUrl = (
      await stack.clients.sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: String(visibilityTimeoutSeconds) } }),
      )
    ).QueueUrl!;
    const { Attributes } = await stack.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    const handler = createBatchHandler({
      documentClient: stack.clients.documentClient,
      tables: stack.tableNames,
      s3: stack.clients.s3,
      bucket: stack.bucket,
      sqs: stack.clients.sqs,
      queueUrlOf: localQueueUrlOf(stack.sqs.endpoint),
      pingWriteMarginMs: 2_000,
      logger: silentLogger,
    });
    eventSource = startSqsEventSource({
      client: stack.clients.sqs,
      queueUrl,
      queueArn: Attributes!.QueueArn!,
      concurrency: 1,
      timeoutSeconds,
      // Observes what each invocation received; the handler itself is untouched.
      handler: (event, context) => {
        for (const record of event.Records)
          receives.push({ messageId: record.messageId, receiveCount: Number(record.attributes.ApproximateReceiveCount) });
        return handler(event, context);
      },
    });
  });
  afterAll(async () => {
    await eventSource?.stop();
  });

  it('is handed back and retried at once; the rest of its batch is stored the first time', async () => {
    const [stalled, fast] = [randomUUID(), randomUUID()];
    const stalledPath = `/stalls-once/${stalled}.json`;
    const fastPath = `/fast/${fast}.json`;
    payloads.set(stalledPath, JSON.stringify(activity(stalled)));
    payloads.set(fastPath, JSON.stringify(activity(fast)));
    const [stalledPing, fastPing] = [pingOf(server.url(stalledPath)), pingOf(server.url(fastPath))];
    // As Terra's SQS destination sends them: the bare event, no delivery metadata.
    const { Successful = [] } = await stack.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'stalled', MessageBody: stalledPing },
          { Id: 'fast', MessageBody: fastPing },
        ],
      }),
    );
    const messageId = (id: string) => Successful.find((entry) => entry.Id === id)!.MessageId!;

    await waitFor(
      async () => ((await userRecords(stack, stalled)).length > 0 ? true : undefined),
      'the stalled download, stored on a later try',
      90_000,
    );
    expect(await userRecords(stack, fast)).toHaveLength(1);

    // Received again well before the visibility timeout: the first invocation handed it back.
    const stalledReceives = receives.filter((receive) => receive.messageId === messageId('stalled'));
    expect(stalledReceives.map((receive) => receive.receiveCount)).toEqual([1, 2]);
    const [first, second] = server.triesOf(stalledPath);
    expect(second.at - first.at).toBeLessThan(visibilityTimeoutSeconds * 1000);
    // One try in the first invocation, cut off by its deadline; no retry in the time left.
    expect(server.triesOf(stalledPath)).toHaveLength(2);
    expect(receives.filter((receive) => receive.messageId === messageId('fast'))).toHaveLength(1);
    expect(server.triesOf(fastPath)).toHaveLength(1);

    // Running out of time is not a failed download: nothing kept as ping_fetch_failed.
    expect(await kept(stack, stalledPing)).toBeUndefined();
    expect(await kept(stack, fastPing)).toBeUndefined();
  }, 120_000);
});

import type { ConsumerDependencies } from '../../lambdas/consumer/process';
import { dataAttributes } from '../../lambdas/shared/attributes';
import { dataItemKey, readRecordItem, userItemKey } from '../../lambdas/shared/table-items';
import { ReceiveMessageCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { GetCommand, paginateScan, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { silentLogger } from '../../lambdas/shared/logger';
import { signatureHeader } from '../../lambdas/shared/signature';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../lib/local/local-stack';

export const testSecret = 'test-signing-secret';

/** A local stack on free ports, in memory, with a visibility timeout short enough for tests. */
export function startTestStack(overrides: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  return startLocalStack({
    port: 0,
    dynamoDbPort: 0,
    sqsPort: 0,
    signingSecrets: [testSecret],
    logger: silentLogger,
    queue: { visibilityTimeoutSeconds: 1 },
    ...overrides,
  });
}

export interface DeliverOptions {
  secret?: string;
  timestamp?: number;
  orderingTimestamp?: number;
  headers?: Record<string, string>;
  terraReference?: string;
}

/** POSTs a body signed as Terra would; a string body is sent byte for byte. */
export async function deliver(stack: LocalStack, body: unknown, options: DeliverOptions = {}): Promise<Response> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(stack.webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'terra-signature': signatureHeader(options.secret ?? testSecret, raw, timestamp),
      ...(options.orderingTimestamp !== undefined && { 'x-terra-ordering-timestamp': String(options.orderingTimestamp) }),
      ...(options.terraReference && { 'terra-reference': options.terraReference }),
      ...options.headers,
    },
    body: raw,
  });
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the webhook queue holds nothing, visible or in flight: every delivery has been processed. */
export async function drained(stack: LocalStack, timeoutMs = 15_000): Promise<void> {
  await queueDrained(stack, stack.queues.queueUrl, timeoutMs);
}

export async function getRecord(stack: LocalStack, userId: string, recordId: string) {
  const { Item } = await stack.clients.documentClient.send(
    new GetCommand({ TableName: stack.tableNames.data, Key: dataItemKey(userId, recordId), ConsistentRead: true }),
  );
  return Item;
}

/** A terra-data item as read (table-items.ts), with its record when it is kept as a map. */
export const readRecordWithPayload = (item: Record<string, unknown>) => ({
  ...readRecordItem(item),
  payload: item[dataAttributes.payload],
});

export async function userRecords(stack: LocalStack, userId: string) {
  const { Items = [] } = await stack.clients.documentClient.send(
    new QueryCommand({
      TableName: stack.tableNames.data,
      KeyConditionExpression: '#user_id = :u',
      ExpressionAttributeNames: { '#user_id': dataAttributes.userId },
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return Items;
}

export async function getUser(stack: LocalStack, userId: string) {
  const { Item } = await stack.clients.documentClient.send(
    new GetCommand({ TableName: stack.tableNames.users, Key: userItemKey(userId), ConsistentRead: true }),
  );
  return Item;
}

export async function scanAll(stack: LocalStack, table: 'data' | 'users' | 'events') {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan(
    { client: stack.clients.documentClient },
    { TableName: stack.tableNames[table], ConsistentRead: true },
  )) {
    items.push(...(page.Items ?? []));
  }
  return items;
}

/** Peeks at the dead-letter queue: the messages stay visible for the next reader (a redrive). */
export async function deadLetters(stack: LocalStack) {
  const { Messages = [] } = await stack.clients.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: stack.queues.deadLetterQueueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: 0,
      MessageAttributeNames: ['All'],
    }),
  );
  return Messages;
}

export async function deadLetterCount(stack: LocalStack): Promise<number> {
  const { Attributes = {} } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.queues.deadLetterQueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

/** Waits until one of the stack's queues (the webhook's, Terra's destinations') holds nothing, visible or in flight. */
export async function queueDrained(stack: LocalStack, queueUrl: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    async () => {
      const { Attributes = {} } = await stack.clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
        }),
      );
      const pending = Object.values(Attributes).reduce((sum, value) => sum + Number(value), 0);
      return pending === 0 ? true : undefined;
    },
    `${queueUrl} to drain`,
    timeoutMs,
  );
}

/** The consumer's dependencies on this stack: for tests that call processDelivery in an order they choose. */
export const consumerDependencies = (stack: LocalStack): ConsumerDependencies => ({
  documentClient: stack.clients.documentClient,
  tables: stack.tableNames,
  s3: stack.clients.s3,
  bucket: stack.bucket,
});

/** A sleep event of one night (record `sleep#night-1`) whose record carries `copy`: the ordering tests' copies. */
export function sleepCopy(userId: string, copy: string) {
  return {
    type: 'sleep',
    version: '2022-03-16',
    user: { user_id: userId, provider: 'WITHINGS', reference_id: 'ref', scopes: null, active: true },
    data: [
      {
        metadata: { summary_id: 'night-1', start_time: '2026-11-20T23:00:00+01:00', end_time: '2026-11-21T07:00:00+01:00', upload_type: 1 },
        copy,
      },
    ],
  };
}

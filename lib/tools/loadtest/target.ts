import { dataAttributes } from '../../../lambdas/shared/attributes';
import { readRecordItem } from '../../../lambdas/shared/table-items';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { queueSettings } from '../../../lambdas/shared/definitions';
import { localCredentials, localRegion } from '../../local/emulators';
import type { LocalStack } from '../../local/local-stack';
import { readRecord } from '../../../lambdas/shared/record-payload';
import { resolveSigningSecret } from '../simulate';
import { localTarget } from '../tables';
import type { StoredItem } from './verdict';

/** Where a load test sends and reads back: a running local stack, or one it starts itself. */

export interface LoadTarget {
  description: string;
  webhookUrl: string;
  secret: string;
  documentClient: DynamoDBDocumentClient;
  dataTable: string;
  sqs: SQSClient;
  queueUrl: string;
  deadLetterQueueUrl: string;
  close(): Promise<void>;
}

export interface TargetDeps {
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  readFile: (path: string) => string | undefined;
  /** Starts an in-memory stack accepting `secret`; only called when nothing is running. */
  startStack: (secret: string) => Promise<LocalStack>;
  generateSecret: () => string;
}

async function answersHealth(url: string, fetchFn: typeof fetch): Promise<boolean> {
  try {
    const response = await fetchFn(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function runningTarget(webhookUrl: string, why: string, flagSecret: string | undefined, deps: TargetDeps): Promise<LoadTarget> {
  const secret = resolveSigningSecret(flagSecret, deps);
  if (!secret) throw new Error('no signing secret: pass --secret, set TERRA_SIGNING_SECRET, or start the stack with npm start');
  const tables = localTarget(deps.env as NodeJS.ProcessEnv);
  const sqsEndpoint = `http://127.0.0.1:${deps.env.SQS_PORT || 9324}`;
  const sqs = new SQSClient({ endpoint: sqsEndpoint, region: localRegion, credentials: localCredentials });
  const urlOf = async (QueueName: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName }))).QueueUrl!;
  try {
    return {
      description: `${why} ${webhookUrl} (secret from ${secret.source}; tables at ${tables.description}, queue at ${sqsEndpoint})`,
      webhookUrl,
      secret: secret.secret,
      documentClient: tables.documentClient,
      dataTable: tables.tableNames.data,
      sqs,
      queueUrl: await urlOf(queueSettings.localName),
      deadLetterQueueUrl: await urlOf(queueSettings.deadLetterQueueLocalName),
      close: async () => {
        tables.documentClient.destroy();
        sqs.destroy();
      },
    };
  } catch (error) {
    tables.documentClient.destroy();
    sqs.destroy();
    throw error;
  }
}

/** `--url`, else the stack `npm start` runs on PORT, else a fresh in-memory stack. */
export async function resolveTarget(flags: { url?: string; secret?: string }, deps: TargetDeps): Promise<LoadTarget> {
  if (flags.url) return runningTarget(flags.url, 'given receiver', flags.secret, deps);
  const base = `http://127.0.0.1:${deps.env.PORT || 3000}`;
  if (await answersHealth(`${base}/health`, deps.fetch)) return runningTarget(`${base}/webhook`, 'running local stack', flags.secret, deps);

  const secret = deps.generateSecret();
  const stack = await deps.startStack(secret);
  return {
    description: `own in-memory local stack ${stack.webhookUrl} (nothing answered ${base}/health)`,
    webhookUrl: stack.webhookUrl,
    secret,
    documentClient: stack.clients.documentClient,
    dataTable: stack.tableNames.data,
    sqs: stack.clients.sqs,
    queueUrl: stack.queues.queueUrl,
    deadLetterQueueUrl: stack.queues.deadLetterQueueUrl,
    close: () => stack.stop(),
  };
}

/** Messages waiting, in flight or delayed. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return Object.values(Attributes).reduce((sum, value) => sum + Number(value), 0);
}

export interface DrainOptions {
  timeoutMs: number;
  /** The depth must stay zero this long: a batch between receive and delete can read as empty. */
  stableMs?: number;
  pollMs?: number;
}

/** True once the depth has read zero for `stableMs`; false on timeout. */
export async function waitForDrain(
  depth: () => Promise<number>,
  options: DrainOptions,
  deps: { now: () => number; sleep: (ms: number) => Promise<void> },
): Promise<boolean> {
  const deadline = deps.now() + options.timeoutMs;
  let emptySince: number | undefined;
  for (;;) {
    const now = deps.now();
    if ((await depth()) === 0) {
      emptySince ??= now;
      if (now - emptySince >= (options.stableMs ?? 1_000)) return true;
    } else {
      emptySince = undefined;
    }
    if (now > deadline) return false;
    await deps.sleep(options.pollMs ?? 200);
  }
}

export async function toStoredItem(item: Record<string, unknown>): Promise<StoredItem> {
  let version: number | undefined;
  try {
    // The load test's records are small: always inline, so no S3 client is needed.
    const value = ((await readRecord(item)) as { loadtest?: { version?: unknown } })?.loadtest?.version;
    if (typeof value === 'number') version = value;
  } catch {
    // No readable payload: the verdict counts it as stale.
  }
  const { userId, recordId, orderingTs } = readRecordItem(item);
  return { userId, recordId, orderingTs, version };
}

/** Every data item of the given users: one query each, a few at a time. */
export async function readUsers(
  db: DynamoDBDocumentClient,
  tableName: string,
  userIds: readonly string[],
  concurrency = 16,
): Promise<StoredItem[]> {
  const items: StoredItem[] = [];
  let next = 0;
  const worker = async () => {
    while (next < userIds.length) {
      const userId = userIds[next++]!;
      const pages = paginateQuery(
        { client: db },
        {
          TableName: tableName,
          KeyConditionExpression: '#user_id = :u',
          ExpressionAttributeNames: { '#user_id': dataAttributes.userId },
          ExpressionAttributeValues: { ':u': userId },
          ConsistentRead: true,
        },
      );
      for await (const page of pages) items.push(...(await Promise.all((page.Items ?? []).map(toStoredItem))));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return items;
}

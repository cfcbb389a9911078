import { parseArgs } from 'node:util';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { destinations, limits, queueSettings } from '../../lambdas/shared/definitions';
import { sqsMessageSize } from '../../lambdas/shared/delivery';
import { readStackOutputs } from './stack-outputs';
import { localCredentials, localRegion } from '../local/emulators';

/**
 * `npm run redrive`: puts dead-lettered deliveries back on the main queue once whatever made
 * them fail is fixed. The consumer's writes are conditional, so a message moved twice is harmless.
 */

export interface LocalMoveResult {
  moved: number;
  /** Left in the dead-letter queue because the main queue refused them; they reappear there. */
  failed: number;
  /** Sent but not deleted from the dead-letter queue: they will be moved again (harmlessly). */
  notDeleted: number;
}

/** Only the parts SendMessage accepts; list values are reserved and refused. */
function attributesOf(message: Message): Record<string, MessageAttributeValue> | undefined {
  const entries = Object.entries(message.MessageAttributes ?? {});
  if (entries.length === 0) return undefined;
  return Object.fromEntries(
    entries.map(([name, value]) => [
      name,
      {
        DataType: value.DataType,
        ...(value.StringValue !== undefined && { StringValue: value.StringValue }),
        ...(value.BinaryValue !== undefined && { BinaryValue: value.BinaryValue }),
      },
    ]),
  );
}

/** Splits entries so no SendMessageBatch exceeds SQS's total payload limit. */
export function packBySize(entries: SendMessageBatchRequestEntry[], maxBytes: number = limits.sqsMessageBytes): SendMessageBatchRequestEntry[][] {
  const batches: SendMessageBatchRequestEntry[][] = [];
  let current: SendMessageBatchRequestEntry[] = [];
  let size = 0;
  for (const entry of entries) {
    const bytes = sqsMessageSize({ MessageBody: entry.MessageBody ?? '', MessageAttributes: entry.MessageAttributes ?? {} });
    if (current.length > 0 && size + bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

async function visibleMessages(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

/**
 * What StartMessageMoveTask does, for queues that lack it (fauxqs): receive from the dead-letter
 * queue, send to the main queue with body and attributes unchanged, delete only what was sent.
 */
export async function moveDeadLetters(
  sqs: SQSClient,
  deadLetterQueueUrl: string,
  queueUrl: string,
  options: { onProgress?: (moved: number) => void; visibilityTimeoutSeconds?: number } = {},
): Promise<LocalMoveResult> {
  const result: LocalMoveResult = { moved: 0, failed: 0, notDeleted: 0 };
  let emptyReads = 0;
  for (;;) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
        // Long enough to send and delete; a message that could not be sent comes back after it.
        VisibilityTimeout: options.visibilityTimeoutSeconds ?? 30,
      }),
    );
    if (messages.length === 0) {
      // Messages that failed to send are in flight, not visible: they end the loop too.
      if ((await visibleMessages(sqs, deadLetterQueueUrl)) === 0 || ++emptyReads >= 5) return result;
      continue;
    }
    emptyReads = 0;
    const handles = new Map(messages.map((message, index) => [String(index), message.ReceiptHandle!]));
    const entries = messages.map((message, index) => ({
      Id: String(index),
      MessageBody: message.Body ?? '',
      MessageAttributes: attributesOf(message),
    }));
    const sent: string[] = [];
    for (const batch of packBySize(entries)) {
      const response = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch }));
      sent.push(...(response.Successful ?? []).map((entry) => entry.Id!));
      result.failed += response.Failed?.length ?? 0;
    }
    if (sent.length > 0) {
      const deleted = await sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: deadLetterQueueUrl, Entries: sent.map((id) => ({ Id: id, ReceiptHandle: handles.get(id)! })) }),
      );
      result.notDeleted += deleted.Failed?.length ?? 0;
    }
    result.moved += sent.length;
    options.onProgress?.(result.moved);
  }
}

/** A dead-letter queue and the queue its messages came from. */
export interface DeadLetterPair {
  /** Which door, for people reading the output. */
  name: string;
  deadLetterQueueUrl: string;
  /** Undefined in AWS: a move task without a destination returns messages to their source queue. */
  queueUrl?: string;
}

/** Every dead-letter queue of a deployed stack: the webhook's, and each destination's it has. */
export async function stackDeadLetterQueues(stackName: string, region?: string): Promise<DeadLetterPair[]> {
  const output = await readStackOutputs(stackName, region);
  const optional = (name: Parameters<typeof output>[0]) => {
    try {
      return output(name);
    } catch {
      return undefined; // that destination is not deployed
    }
  };
  const pairs: DeadLetterPair[] = [{ name: 'webhook', deadLetterQueueUrl: output('DeadLetterQueueUrl') }];
  const sqsDestination = optional('DestinationDeadLetterQueueUrl');
  if (sqsDestination) pairs.push({ name: 'SQS destination', deadLetterQueueUrl: sqsDestination });
  const s3Destination = optional('DestinationEventsDeadLetterQueueUrl');
  if (s3Destination) pairs.push({ name: 'S3 destination', deadLetterQueueUrl: s3Destination });
  return pairs;
}

/** The local stack's pairs, by the names in definitions.ts. */
const localPairs = [
  { name: 'webhook', deadLetter: queueSettings.deadLetterQueueLocalName, queue: queueSettings.localName },
  { name: 'SQS destination', deadLetter: destinations.queue.deadLetterQueueLocalName, queue: destinations.queue.localName },
  {
    name: 'S3 destination',
    deadLetter: destinations.bucket.notificationDeadLetterQueueLocalName,
    queue: destinations.bucket.notificationQueueLocalName,
  },
];

const terminal = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** Starts SQS's own redrive and polls it to the end; returns the task's last state. */
export async function runMoveTask(
  sqs: SQSClient,
  queues: DeadLetterPair,
  deps: { sleep: (ms: number) => Promise<void>; write: (line: string) => void; pollMs?: number },
): Promise<ListMessageMoveTasksResultEntry> {
  const arnOf = async (QueueUrl: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const sourceArn = await arnOf(queues.deadLetterQueueUrl);
  const destinationArn = queues.queueUrl ? await arnOf(queues.queueUrl) : undefined;
  const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn }));
  deps.write(`Moving ${sourceArn} → ${destinationArn ?? 'its source queue'}`);
  let lastMoved = -1;
  for (;;) {
    const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }));
    // Only running tasks carry their handle; once finished, ours is the most recent one.
    const task = Results.find((result) => result.TaskHandle === TaskHandle) ?? Results[0];
    if (!task) throw new Error('the move task disappeared from ListMessageMoveTasks');
    const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
    if (moved !== lastMoved || terminal.has(task.Status ?? '')) {
      deps.write(`  ${task.Status}: ${moved} of ${task.ApproximateNumberOfMessagesToMove ?? '?'} moved`);
      lastMoved = moved;
    }
    if (terminal.has(task.Status ?? '')) return task;
    await deps.sleep(deps.pollMs ?? 2_000);
  }
}

export const usage = `Usage: npm run redrive [-- --stack STACK_NAME] [--region REGION]

Moves dead-lettered messages back to the queue they came from, where the consumer processes them
again: the webhook's dead-letter queue, and those of Terra's SQS and S3 destinations where the
stack has them. Local stack by default (SQS on \${SQS_PORT:-9324}); with --stack, the deployed
stack's queues via SQS's StartMessageMoveTask, with your usual AWS credentials.`;

export interface RedriveDeps {
  env: Record<string, string | undefined>;
  write: (line: string) => void;
  sleep: (ms: number) => Promise<void>;
}

/** The whole CLI; returns the exit code. */
export async function runRedriveCli(argv: readonly string[], deps: RedriveDeps): Promise<number> {
  let values: { stack?: string; region?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { stack: { type: 'string' }, region: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    deps.write(`${(error as Error).message}\n\n${usage}`);
    return 1;
  }
  if (values.help) {
    deps.write(usage);
    return 0;
  }

  if (values.stack) {
    const sqs = new SQSClient({ region: values.region });
    try {
      let failed = 0;
      for (const pair of await stackDeadLetterQueues(values.stack, values.region)) {
        deps.write(`${pair.name}:`);
        const task = await runMoveTask(sqs, pair, deps);
        if (task.Status === 'COMPLETED') continue;
        failed++;
        deps.write(`The move task ended ${task.Status}${task.FailureReason ? `: ${task.FailureReason}` : ''}`);
      }
      return failed > 0 ? 1 : 0;
    } finally {
      sqs.destroy();
    }
  }

  const endpoint = `http://127.0.0.1:${deps.env.SQS_PORT || 9324}`;
  const sqs = new SQSClient({ endpoint, region: localRegion, credentials: localCredentials });
  try {
    const urlOf = async (QueueName: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName }))).QueueUrl!;
    let failed = 0;
    for (const pair of localPairs) {
      const [deadLetterQueueUrl, queueUrl] = [await urlOf(pair.deadLetter), await urlOf(pair.queue)];
      const result = await moveDeadLetters(sqs, deadLetterQueueUrl, queueUrl);
      deps.write(`${pair.name}: moved ${result.moved} message${result.moved === 1 ? '' : 's'} from ${pair.deadLetter} to ${pair.queue} (${endpoint}).`);
      if (result.failed > 0) deps.write(`  ${result.failed} could not be sent and stay in the dead-letter queue; run redrive again.`);
      if (result.notDeleted > 0) deps.write(`  ${result.notDeleted} were sent but not deleted: they will be moved again, which is harmless.`);
      failed += result.failed;
    }
    return failed > 0 ? 1 : 0;
  } finally {
    sqs.destroy();
  }
}

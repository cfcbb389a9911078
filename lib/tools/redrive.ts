import { parseArgs } from 'node:util';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { limits, messageAttributes } from '../../lambdas/shared/definitions';
import { sqsMessageSize } from '../../lambdas/shared/delivery';
import { localPairs, runMoveTask, stackDeadLetterQueues } from './redrive-queues';
import { localCredentials, localRegion } from '../local/emulators';

/**
 * `npm run redrive`: puts dead-lettered deliveries back on the main queue once whatever made
 * them fail is fixed. The consumer's writes are conditional, so a message moved twice is harmless.
 * A move resets SentTimestamp, by which alone Terra's SQS destination is ordered (docs/terra.md
 * §10): those messages are moved by hand, stamped with the original (withOriginalSentTimestamp).
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

/** The entry that sends a received message on with its body and attributes unchanged. */
function unchangedEntry(message: Message, id: string): SendMessageBatchRequestEntry {
  return { Id: id, MessageBody: message.Body ?? '', MessageAttributes: attributesOf(message) };
}

const numberAttribute = (value: number): MessageAttributeValue => ({ DataType: 'Number', StringValue: String(value) });

/**
 * A message of Terra's SQS destination as it must go back: carrying, as the attributes
 * fromSqsRecord honours, the metadata it would have derived from the ORIGINAL SentTimestamp
 * rather than the move's. One that has them already (redriven before) goes back unchanged, so
 * the first SentTimestamp survives any number of redrives. With `signature_timestamp` set,
 * doors.ts takes the message for the `webhook` door, not `sqs_destination`; both are processed
 * identically (fromSqsRecord, then processDelivery in batch.ts's default branch; pingUrlOf
 * accepts both), only the log line's `door` differs. Never for an S3 notification: doors.ts
 * would then take it for a webhook body.
 */
export function withOriginalSentTimestamp(message: Message, id: string): SendMessageBatchRequestEntry {
  const entry = unchangedEntry(message, id);
  if (message.MessageAttributes?.[messageAttributes.signatureTimestamp]) return entry;
  const sentTimestamp = Number(message.Attributes?.SentTimestamp);
  if (!Number.isSafeInteger(sentTimestamp) || sentTimestamp <= 0) {
    // Moved without it, the message would be ordered as new: the very thing this prevents.
    throw new Error(`message ${message.MessageId ?? id} came without its SentTimestamp; it is left in the dead-letter queue`);
  }
  return {
    ...entry,
    MessageAttributes: {
      ...entry.MessageAttributes,
      [messageAttributes.signatureTimestamp]: numberAttribute(Math.floor(sentTimestamp / 1000)),
      [messageAttributes.orderingTimestamp]: numberAttribute(sentTimestamp),
      [messageAttributes.receivedAt]: { DataType: 'String', StringValue: new Date(sentTimestamp).toISOString() },
    },
  };
}

/** Splits entries so no SendMessageBatch exceeds SQS's total payload limit. */
export function packBySize(
  entries: SendMessageBatchRequestEntry[],
  maxBytes: number = limits.sqsMessageBytes,
): SendMessageBatchRequestEntry[][] {
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
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

export interface MoveOptions {
  onProgress?: (moved: number) => void;
  visibilityTimeoutSeconds?: number;
  /** Terra's SQS destination only: send each message as withOriginalSentTimestamp makes it. */
  stampSentTimestamp?: boolean;
  /** 0 locally. In AWS a short poll asks only some servers, so may find nothing while messages remain. */
  waitTimeSeconds?: number;
}

/**
 * What StartMessageMoveTask does, for queues that lack it (fauxqs) or messages it would reorder
 * (Terra's SQS destination): receive from the dead-letter queue, send to the main queue with body
 * and attributes unchanged (or stamped), delete only what was sent.
 */
export async function moveDeadLetters(
  sqs: SQSClient,
  deadLetterQueueUrl: string,
  queueUrl: string,
  options: MoveOptions = {},
): Promise<LocalMoveResult> {
  const entryOf = options.stampSentTimestamp ? withOriginalSentTimestamp : unchangedEntry;
  const result: LocalMoveResult = { moved: 0, failed: 0, notDeleted: 0 };
  let emptyReads = 0;
  for (;;) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp'],
        WaitTimeSeconds: options.waitTimeSeconds ?? 0,
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
    const entries = messages.map((message, index) => entryOf(message, String(index)));
    const sent: string[] = [];
    for (const batch of packBySize(entries)) {
      const response = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch }));
      sent.push(...(response.Successful ?? []).map((entry) => entry.Id!));
      result.failed += response.Failed?.length ?? 0;
    }
    if (sent.length > 0) {
      const deleted = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: deadLetterQueueUrl,
          Entries: sent.map((id) => ({ Id: id, ReceiptHandle: handles.get(id)! })),
        }),
      );
      result.notDeleted += deleted.Failed?.length ?? 0;
    }
    result.moved += sent.length;
    options.onProgress?.(result.moved);
  }
}

export const usage = `Usage: npm run redrive [-- --stack STACK_NAME] [--region REGION]

Moves dead-lettered messages back to the queue they came from, where the consumer processes them
again. Local stack by default (SQS on \${SQS_PORT:-9324}); with --stack, the deployed stack's
queues, with your usual AWS credentials. For each dead-letter queue the stack has:
- webhook, S3 destination, erase on deauth: moved as they are, since their order travels inside the message
  (delivery metadata; an S3 notification's eventTime and sequencer). In AWS by StartMessageMoveTask.
- SQS destination: Terra's messages are ordered by SQS's SentTimestamp, which any move resets. So
  each is received, given its ORIGINAL SentTimestamp as delivery metadata, sent back and deleted,
  in AWS too: an old copy never overwrites a newer record, nor does an expired Ping URL look fresh.`;

export interface RedriveDeps {
  env: Record<string, string | undefined>;
  write: (line: string) => void;
  sleep: (ms: number) => Promise<void>;
}

/** Prints a message-by-message move's outcome; returns how many messages stayed behind. */
function reportMove(name: string, from: string, to: string, result: LocalMoveResult, write: (line: string) => void): number {
  write(`${name}: moved ${result.moved} message${result.moved === 1 ? '' : 's'} from ${from} to ${to}.`);
  if (result.failed > 0) write(`  ${result.failed} could not be sent and stay in the dead-letter queue; run redrive again.`);
  if (result.notDeleted > 0) write(`  ${result.notDeleted} were sent but not deleted: they will be moved again, which is harmless.`);
  return result.failed;
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
        if (pair.ordersBySentTimestamp) {
          // A move task would send the messages back as new; they are moved one by one instead.
          const result = await moveDeadLetters(sqs, pair.deadLetterQueueUrl, pair.queueUrl!, {
            stampSentTimestamp: true,
            waitTimeSeconds: 2,
          });
          failed += reportMove(pair.name, pair.deadLetterQueueUrl, pair.queueUrl!, result, deps.write);
          continue;
        }
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
      if ('optional' in pair && pair.optional && !(await urlOf(pair.deadLetter).catch(() => undefined))) continue;
      const [deadLetterQueueUrl, queueUrl] = [await urlOf(pair.deadLetter), await urlOf(pair.queue)];
      const result = await moveDeadLetters(sqs, deadLetterQueueUrl, queueUrl, { stampSentTimestamp: pair.ordersBySentTimestamp });
      failed += reportMove(pair.name, pair.deadLetter, `${pair.queue} (${endpoint})`, result, deps.write);
    }
    return failed > 0 ? 1 : 0;
  } finally {
    sqs.destroy();
  }
}

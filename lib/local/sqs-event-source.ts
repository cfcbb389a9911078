import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { consumerMemoryMb, consumerTimeoutSeconds, queueSettings } from '../../lambdas/shared/definitions';
import { localRegion } from './emulators';

/**
 * Drives the consumer the way Lambda's SQS event source mapping does: long-poll batches, invoke,
 * delete what succeeded, leave the batch item failures to reappear after the visibility timeout
 * (and reach the dead-letter queue after maxReceiveCount, which the queue's redrive policy does).
 */

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface EventSourceOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsBatchHandler;
  batchSize?: number;
  /** Concurrent pollers, like the event source's concurrent batches. */
  concurrency?: number;
  waitTimeSeconds?: number;
  /** Whether it polls from the start (the mapping's `Enabled`); true unless given. */
  enabled?: boolean;
  /** The Lambda timeout the handler's context counts down from; consumerTimeoutSeconds unless given (tests). */
  timeoutSeconds?: number;
  onError?: (error: unknown) => void;
}

export interface RunningEventSource {
  /** Stops polling and waits for the batches in flight to finish. */
  stop(): Promise<void>;
  /**
   * Lambda's `Enabled: false` on the mapping: no new batches; resolves once those in flight are
   * done (and deleted). Messages stay in the queue for `enable()`.
   */
  disable(): Promise<void>;
  /** Polls again; a no-op while enabled or once stopped. */
  enable(): void;
}

export function toLambdaRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          stringValue: value.StringValue,
          binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : undefined,
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: localRegion,
  };
}

/**
 * The URL of a local queue from its ARN: the emulator serves every queue under its endpoint, not
 * under the AWS host the ARN implies (the consumer's hand-back needs it, hand-back.ts).
 */
export function localQueueUrlOf(endpoint: string): (arn: string) => string {
  return (arn) => {
    const [, , , , account, name] = arn.split(':');
    if (!account || !name) throw new Error(`not an SQS queue ARN: ${arn}`);
    return `${endpoint}/${account}/${name}`;
  };
}

/**
 * Lambda's context, with its deadline: the consumer bounds its Ping downloads by the time left.
 * Nothing stops the handler at the deadline here, as Lambda would; the consumer keeps within it.
 */
function lambdaContext(timeoutSeconds: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'terra-ingest-consumer-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:terra-ingest-consumer-local',
    memoryLimitInMB: String(consumerMemoryMb),
    awsRequestId: crypto.randomUUID(),
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export function startSqsEventSource(options: EventSourceOptions): RunningEventSource {
  const { client, queueUrl, queueArn, handler } = options;
  const batchSize = options.batchSize ?? queueSettings.batchSize;
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const timeoutSeconds = options.timeoutSeconds ?? consumerTimeoutSeconds;

  const pollOnce = async (signal: AbortSignal) => {
    const { Messages: messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: batchSize,
        WaitTimeSeconds: waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: signal },
    );
    if (messages.length === 0) return;
    const records = messages.map((message) => toLambdaRecord(message, queueArn));
    let failedIds: Set<string>;
    try {
      const response = await handler({ Records: records }, lambdaContext(timeoutSeconds));
      failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      // A thrown invocation fails the whole batch, as in Lambda.
      options.onError?.(error);
      failedIds = new Set(records.map((record) => record.messageId));
    }
    const succeeded = records.filter((record) => !failedIds.has(record.messageId));
    if (succeeded.length > 0) {
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: succeeded.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
    }
  };

  interface Pollers {
    abort: AbortController;
    /** Set by disable: finish the current poll, then stop. */
    finishing: boolean;
    loops: Promise<void>[];
  }
  const loop = async (pollers: Pollers) => {
    const { signal } = pollers.abort;
    while (!signal.aborted && !pollers.finishing) {
      try {
        await pollOnce(signal);
      } catch (error) {
        if (signal.aborted) return;
        options.onError?.(error);
        // The queue is unreachable (restarting, say): back off instead of spinning.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 500);
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
      }
    }
  };

  let stopped = false;
  let polling: Pollers | undefined;
  /** Pollers disabled but still finishing their last poll. */
  const winding = new Set<Pollers>();
  const enable = () => {
    if (polling || stopped) return;
    const pollers: Pollers = { abort: new AbortController(), finishing: false, loops: [] };
    pollers.loops = Array.from({ length: options.concurrency ?? 2 }, () => loop(pollers));
    polling = pollers;
  };
  const disable = async () => {
    const current = polling;
    polling = undefined;
    if (!current) return;
    // Not aborted: the emulator does not notice a long poll its client gave up on, and the messages
    // it hands that poll would stay invisible for the visibility timeout. Finished, they are processed.
    current.finishing = true;
    winding.add(current);
    await Promise.all(current.loops);
    winding.delete(current);
  };
  if (options.enabled ?? true) enable();
  return {
    enable,
    disable,
    async stop() {
      stopped = true;
      const all = [...winding, ...(polling ? [polling] : [])];
      polling = undefined;
      // Shutting down: idle long polls are aborted; a batch being processed finishes and is deleted.
      for (const pollers of all) pollers.abort.abort();
      await Promise.all(all.flatMap((pollers) => pollers.loops));
    },
  };
}

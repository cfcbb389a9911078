import { parentPort, workerData } from 'node:worker_threads';
import type { OutcomeCounter } from '../../lambdas/consumer/batch';
import type { Logger } from '../../lambdas/shared/logger';
import { type RunningConsumerSide, startConsumerSide } from './consumer-side';
import type { CrossingLogLine, ThreadCall, ThreadMessage, ThreadReport, WorkerData } from './consumer-thread';
import { errorParts } from './consumer-thread';
import { type RunningService, startDynamoDb } from './emulators';

/**
 * The worker thread of the local stack's consumer (consumer-thread.ts starts it): dynalite and the
 * consumer's side run here, called by the stack; log lines and counted outcomes go back to it.
 */

const port = parentPort!;
const { counting } = workerData as WorkerData;

// Reports leave once per turn of the event loop: one message for the lines of a whole batch.
let reports: ThreadReport[] = [];
const flush = () => {
  const batch = reports;
  reports = [];
  if (batch.length === 0) return;
  try {
    port.postMessage({ reports: batch } satisfies ThreadMessage);
  } catch {
    // Something in a line cannot be cloned: its JSON can.
    port.postMessage({ reports: JSON.parse(JSON.stringify(batch)) } satisfies ThreadMessage);
  }
};
const report = (entry: ThreadReport) => {
  if (reports.length === 0) setImmediate(flush);
  reports.push(entry);
};

const crossing = (extra: unknown[]) => extra.map((item) => (item instanceof Error ? { __error: errorParts(item) } : item));
const forwardingLogger = (channel: CrossingLogLine['channel']): Logger => ({
  info: (message, ...extra) => report({ log: { channel, level: 'info', message, extra: crossing(extra) } }),
  warn: (message, ...extra) => report({ log: { channel, level: 'warn', message, extra: crossing(extra) } }),
  error: (message, ...extra) => report({ log: { channel, level: 'error', message, extra: crossing(extra) } }),
});
const counter: OutcomeCounter | undefined = counting
  ? { count: (outcome) => report({ outcome }), pingDownloadFailed: () => report({ pingDownloadFailed: true }) }
  : undefined;

let dynamoDb: RunningService | undefined;
let side: RunningConsumerSide | undefined;

async function answer(message: ThreadCall): Promise<unknown> {
  switch (message.call) {
    case 'startDynamoDb':
      dynamoDb = await startDynamoDb(message.port, message.dataDir);
      return { port: dynamoDb.port };
    case 'dynamoDb.stop':
      return dynamoDb?.stop();
    case 'dynamoDb.start':
      return dynamoDb?.start();
    case 'startConsumer':
      side = startConsumerSide(message.config, {
        logger: forwardingLogger('stack'),
        consumerLogger: forwardingLogger('consumer'),
        counter,
      });
      return undefined;
    case 'enable':
      return side?.enable();
    case 'disable':
      return side?.disable();
    case 'stop': {
      const stopping = side;
      side = undefined;
      return stopping?.stop();
    }
  }
}

port.on('message', (message: ThreadCall & { id: number }) => {
  // What was reported before an answer arrives before it (the last lines before a stop, say).
  const reply = (outcome: ThreadMessage) => {
    flush();
    port.postMessage(outcome);
  };
  answer(message).then(
    (result) => reply({ id: message.id, result }),
    (error: unknown) => reply({ id: message.id, error: errorParts(error) }),
  );
});

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { OutcomeCounter } from '../../lambdas/consumer/batch';
import type { DeliveryOutcome } from '../../lambdas/consumer/process';
import type { Logger } from '../../lambdas/shared/logger';
import type { ConsumerSideConfig } from './consumer-side';
import type { RunningService } from './emulators';

/**
 * The consumer's side of the local stack (consumer-side.ts) and dynalite, in a worker thread of
 * their own: their CPU work (the SDK clients, the handler, dynalite's) no longer runs between an
 * acknowledgement's steps in the stack's thread. This module is the stack's end: it starts the
 * worker (consumer-worker.ts, loaded through tsx, so the .ts sources run there under `npm start`,
 * the bench and Jest alike), calls it, and turns what the worker reports (log lines, counted
 * outcomes) back into calls of the stack's own loggers and counter.
 */

/** A call from the stack to the worker. */
export type ThreadCall =
  | { call: 'startDynamoDb'; port: number; dataDir?: string }
  | { call: 'dynamoDb.stop' | 'dynamoDb.start' | 'enable' | 'disable' | 'stop' }
  | { call: 'startConsumer'; config: ConsumerSideConfig };

/** A log line as it crosses: Errors as their parts, rebuilt on this side. */
export interface CrossingLogLine {
  channel: 'stack' | 'consumer';
  level: 'info' | 'warn' | 'error';
  /** A string, or Powertools' object with a `message`. */
  message: Parameters<Logger['info']>[0];
  extra: unknown[];
}

/** What the worker reports unasked, batched per turn of its event loop. */
export type ThreadReport = { log: CrossingLogLine } | { outcome: DeliveryOutcome } | { pingDownloadFailed: true };

export type ThreadMessage =
  | { id: number; result?: unknown; error?: { name: string; message: string; stack?: string } }
  | { reports: ThreadReport[] };

export interface WorkerData {
  /** Whether the stack wants outcomes counted (metrics.consumer). */
  counting: boolean;
}

export interface ConsumerThread {
  /** dynalite, when `startDynamoDb` started it in the worker. */
  startDynamoDb(port: number, dataDir?: string): Promise<RunningService>;
  startConsumer(config: ConsumerSideConfig): Promise<void>;
  enable(): Promise<void>;
  disable(): Promise<void>;
  /** Stops the consumer's side (batches in flight finish), leaving dynalite up. */
  stopConsumer(): Promise<void>;
  /** Stops dynalite and ends the thread. */
  stop(): Promise<void>;
}

export interface ConsumerThreadOptions {
  logger: Logger;
  consumerLogger: Logger;
  counter?: OutcomeCounter;
}

export const errorParts = (error: unknown) =>
  error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { name: 'Error', message: String(error) };

function rebuiltError(parts: { name: string; message: string; stack?: string }): Error {
  const error = new Error(parts.message);
  error.name = parts.name;
  if (parts.stack) error.stack = parts.stack;
  return error;
}

/** tsx's loader, by path: `--import tsx` would resolve from whatever the working directory is. */
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export async function startConsumerThread(options: ConsumerThreadOptions): Promise<ConsumerThread> {
  const workerData: WorkerData = { counting: options.counter !== undefined };
  const worker = new Worker(new URL('./consumer-worker.ts', import.meta.url), {
    workerData,
    execArgv: ['--import', tsxLoader],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const loggerOf = (channel: CrossingLogLine['channel']) => (channel === 'consumer' ? options.consumerLogger : options.logger);

  worker.on('message', (message: ThreadMessage) => {
    if ('reports' in message) {
      for (const report of message.reports) {
        if ('log' in report) {
          const { channel, level, message: text, extra } = report.log;
          const items = extra.map((item) =>
            item && typeof item === 'object' && '__error' in item ? rebuiltError((item as { __error: never }).__error) : item,
          );
          loggerOf(channel)[level](text, ...(items as []));
        } else if ('outcome' in report) {
          options.counter?.count(report.outcome);
        } else {
          options.counter?.pingDownloadFailed?.();
        }
      }
      return;
    }
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) waiting?.reject(rebuiltError(message.error));
    else waiting?.resolve(message.result);
  });
  const fail = (error: Error) => {
    failure ??= error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on('error', (error) => {
    options.logger.error('local consumer thread failed: deliveries are acknowledged but no longer processed; restart the stack', {
      error: String(error),
    });
    fail(error);
  });
  worker.on('exit', (code) => fail(new Error(`the local consumer thread exited (code ${code})`)));

  const call = <T = void>(message: ThreadCall): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, ...message });
    });
  };
  let ended: Promise<void> | undefined;

  return {
    async startDynamoDb(port, dataDir) {
      const { port: bound } = await call<{ port: number }>({ call: 'startDynamoDb', port, dataDir });
      return {
        endpoint: `http://127.0.0.1:${bound}`,
        port: bound,
        stop: () => call({ call: 'dynamoDb.stop' }),
        start: () => call({ call: 'dynamoDb.start' }),
      };
    },
    startConsumer: (config) => call({ call: 'startConsumer', config }),
    enable: () => call({ call: 'enable' }),
    disable: () => call({ call: 'disable' }),
    stopConsumer: () => call({ call: 'stop' }),
    stop() {
      ended ??= (async () => {
        if (!failure) await call({ call: 'dynamoDb.stop' }).catch(() => undefined);
        await worker.terminate();
      })();
      return ended;
    },
  };
}

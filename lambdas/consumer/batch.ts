import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { observability } from '../shared/definitions';
import { type Logger, withKeys } from '../shared/logger';
import { type Door, doorOf } from './doors';
import { handBack } from './hand-back';
import { PingOutOfTime } from './ping';
import { downloadPing, pingWriteMarginMs, prefetchPings } from './ping-prefetch';
import { type ConsumerDependencies, type DeliveryOutcome, processDelivery } from './process';
import { processS3Object } from './s3-destination';

/** Counts outcomes where the team can see them (CloudWatch metrics in AWS). */
export interface OutcomeCounter {
  count(outcome: DeliveryOutcome): void;
  /** A Ping-mode download that did not bring the payload (ConsumerDependencies.pingDownloadFailed). */
  pingDownloadFailed?(): void;
}

export interface BatchDependencies extends ConsumerDependencies {
  logger: Logger;
  counter?: OutcomeCounter;
  /** Hands a message the invocation ran out of time for back to its queue (hand-back.ts). */
  sqs?: Pick<SQSClient, 'send'>;
  /** A queue's URL from its ARN; the AWS URL derived from the ARN unless given (locally it differs). */
  queueUrlOf?: (arn: string) => string;
  /** Time kept back from Ping downloads for the writes; pingWriteMarginMs unless given (tests). */
  pingWriteMarginMs?: number;
}

/**
 * The SQS side: each message is processed on its own; a message whose processing throws (a
 * transient DynamoDB failure) is reported back as a batch item failure, so SQS redelivers only
 * that message and, after maxReceiveCount, moves it to the dead-letter queue. A Ping download the
 * invocation ran out of time for is also handed back at once, for the next invocation to finish.
 */
/** Less time left than this, and a message is not started: its writes could be cut off midway. */
const messageStartMinimumMs = 2_000;

const { logKeys } = observability;

/**
 * The keys every line about one message carries (observability.logKeys), so one Logs Insights
 * query follows a delivery from the ingest function's line to these. The trace id is the one the
 * ingest function put on the message (Terra's, or one it minted); a message from Terra's SQS or S3
 * destination carries none, so its SQS message id stands in.
 */
function keysOf(record: SQSRecord, door: Door): Record<string, string | undefined> {
  const delivery = door.door === 'webhook' || door.door === 'sqs_destination' ? door.delivery : undefined;
  return {
    [logKeys.traceId]: delivery?.traceId || record.messageId,
    [logKeys.terraReference]: delivery?.terraReference,
    [logKeys.messageId]: record.messageId,
  };
}

/**
 * A failure's name, and its message only when an AWS service wrote it: other messages can quote
 * what they failed on (JSON.parse quotes the body it refused, a URL error the pre-signed URL).
 */
function failureOf(error: unknown): Record<string, string> {
  if (!(error instanceof Error)) return { error: typeof error };
  return '$metadata' in error ? { error: error.name, error_message: error.message } : { error: error.name };
}

export function createBatchHandler(deps: BatchDependencies) {
  const margin = deps.pingWriteMarginMs ?? pingWriteMarginMs;

  /** Back to the queue at once (visibility 0): the next invocation has the time this one lacks. */
  const handOver = async (record: SQSRecord, reason: string, log: Logger) => {
    if (!deps.sqs) {
      log.warn('out of time; no SQS client to hand the message back, it returns after the visibility timeout', { reason });
      return;
    }
    try {
      await handBack(record, { sqs: deps.sqs, queueUrlOf: deps.queueUrlOf });
      log.info('out of time; handed back for an immediate retry', { reason });
    } catch (handBackError) {
      log.warn('out of time; handing the message back failed, it returns after the visibility timeout', failureOf(handBackError));
    }
  };

  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const pingTimeLeftMs = () => context.getRemainingTimeInMillis() - margin;
    const fetchFn = deps.fetch ?? fetch;
    const doors = new Map(event.Records.map((record) => [record.messageId, doorOf(record)]));
    const prefetched = prefetchPings(doors, (url) => downloadPing(url, { fetch: fetchFn, timeLeftMs: pingTimeLeftMs() }));

    const handleRecord = async (record: SQSRecord) => {
      const attempt = Number(record.attributes.ApproximateReceiveCount ?? 1);
      const door = doors.get(record.messageId)!;
      // One logger per message, never the shared one with keys appended: see withKeys.
      const log = withKeys(deps.logger, keysOf(record, door));
      // Left to the next invocation, at once, rather than cut off by this one's timeout mid-write.
      // The margin itself is what the messages after the downloads write in; only its tail is
      // too short to start one.
      if (context.getRemainingTimeInMillis() < Math.min(messageStartMinimumMs, margin / 2)) {
        const reason = 'the invocation has too little time left to process this message';
        await handOver(record, reason, log);
        throw new Error(reason);
      }
      // Taken out of the batch's map, so the body is let go once this message is processed.
      const ping = prefetched.get(record.messageId);
      prefetched.delete(record.messageId);
      const recordDeps: ConsumerDependencies = {
        ...deps,
        pingTimeLeftMs,
        ...(ping && { prefetched: ping }),
        pingDownloadFailed: (reason) => {
          deps.counter?.pingDownloadFailed?.();
          // Reasons never name the URL (it carries a signature): ping.ts.
          log.warn('Ping-mode download failed', { reason });
        },
      };
      const outcomes: DeliveryOutcome[] = [];
      try {
        switch (door.door) {
          case 's3_test_event':
            log.info('S3 test event ignored');
            return;
          case 's3_destination':
            for (const object of door.objects) outcomes.push(await processS3Object(object, recordDeps, attempt));
            break;
          default:
            outcomes.push(await processDelivery(door.delivery, recordDeps, attempt));
        }
      } catch (error) {
        if (error instanceof PingOutOfTime) await handOver(record, error.message, log);
        else log.warn('delivery failed; SQS retries it, or dead-letters it after its last try', { attempt, ...failureOf(error) });
        throw error;
      }
      for (const outcome of outcomes) {
        deps.counter?.count(outcome);
        // The reason stays in terra-events: a JSON parser's message quotes the body it refused.
        const { reason: _reason, stored: _stored, userId, payloadBytes, ...logged } = outcome;
        log.info('delivery processed', {
          door: door.door,
          ...logged,
          ...(payloadBytes !== undefined && { payload_bytes: payloadBytes }),
          ...(userId !== undefined && { [logKeys.userId]: userId }),
        });
      }
    };

    // A processor holds one batch's state: one per invocation, so batches that overlap (the local
    // stack's pollers; Lambda gives each container its own) never mix their failures.
    return processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), {
      context,
      throwOnFullBatchFailure: false,
      // One message at a time: a batch may hold several Ping-mode payloads of tens of MB each.
      // Only their downloads run side by side (ping-prefetch.ts).
      processInParallel: false,
    });
  };
}

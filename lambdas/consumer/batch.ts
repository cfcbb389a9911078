import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Logger } from '../shared/logger';
import { doorOf } from './doors';
import { type ConsumerDependencies, type DeliveryOutcome, processDelivery } from './process';
import { processS3Object } from './s3-destination';

/** Counts outcomes where the team can see them (CloudWatch metrics in AWS). */
export interface OutcomeCounter {
  count(outcome: DeliveryOutcome): void;
}

/**
 * The SQS side: each message is processed on its own; a message whose processing throws (a
 * transient DynamoDB failure) is reported back as a batch item failure, so SQS redelivers only
 * that message and, after maxReceiveCount, moves it to the dead-letter queue.
 */
export function createBatchHandler(deps: ConsumerDependencies & { logger: Logger; counter?: OutcomeCounter }) {
  const processor = new BatchProcessor(EventType.SQS);
  const handleRecord = async (record: SQSRecord) => {
    const attempt = Number(record.attributes.ApproximateReceiveCount ?? 1);
    const door = doorOf(record);
    const outcomes: DeliveryOutcome[] = [];
    switch (door.door) {
      case 's3_test_event':
        deps.logger.info('S3 test event ignored', { messageId: record.messageId });
        return;
      case 's3_destination':
        for (const object of door.objects) outcomes.push(await processS3Object(object, deps, attempt));
        break;
      default:
        outcomes.push(await processDelivery(door.delivery, deps, attempt));
    }
    for (const outcome of outcomes) {
      deps.counter?.count(outcome);
      deps.logger.info('delivery processed', { messageId: record.messageId, door: door.door, ...outcome });
    }
  };
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, handleRecord, processor, {
      context,
      throwOnFullBatchFailure: false,
      // One message at a time: a batch may hold several Ping-mode payloads of tens of MB each.
      processInParallel: false,
    });
}

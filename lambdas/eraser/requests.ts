import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EraseRequest } from '../consumer/erase-request';
import type { Logger } from '../shared/logger';
import { observability } from '../shared/definitions';
import { type EraseDependencies, eraseUser } from './erase';
import { totalOf } from './places';

/**
 * The eraser function's work: each message of the erasure queue names a user a `deauth` or
 * `access_revoked` asked to erase (lambdas/consumer/erase-request.ts). A failed erase goes back
 * to the queue alone (partial batch response) and resumes where it stopped: the erase is
 * idempotent. After the queue's tries it waits in the dead-letter queue for `npm run redrive`.
 */

export interface EraserDependencies extends EraseDependencies {
  logger: Logger;
}

export function parseEraseRequest(body: string): EraseRequest {
  let request: Partial<EraseRequest>;
  try {
    request = JSON.parse(body) as Partial<EraseRequest>;
  } catch {
    throw new Error('an erase request must be JSON');
  }
  if (typeof request?.user_id !== 'string' || request.user_id === '') throw new Error('an erase request needs a user_id');
  return { user_id: request.user_id, trigger: String(request.trigger ?? 'unknown'), requested_at: String(request.requested_at ?? '') };
}

export function createEraserHandler(deps: EraserDependencies) {
  const processor = new BatchProcessor(EventType.SQS);
  const eraseOne = async (record: SQSRecord) => {
    const request = parseEraseRequest(record.body);
    const result = await eraseUser(deps, request.user_id, { dryRun: false, payloadBucketOnly: true });
    // Counts and the user id only: what was erased is gone, and stays out of the logs too.
    deps.logger.info('user erased', {
      [observability.logKeys.userId]: request.user_id,
      trigger: request.trigger,
      requestedAt: request.requested_at,
      deleted: Object.fromEntries(result.counts.filter(([, count]) => count > 0)),
      total: totalOf(result.counts),
      ...(result.left.length > 0 && { leftOutsidePayloadBucket: result.left.length }),
    });
  };
  return (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => processPartialResponse(event, eraseOne, processor, { context });
}

import type { SQSClient } from '@aws-sdk/client-sqs';
import { erasure } from '../shared/definitions';

/** What the consumer asks of the eraser function (lambdas/eraser/handler.ts). */
export interface EraseRequest {
  user_id: string;
  /** The connection event that asked for it: `deauth` or `access_revoked`. */
  trigger: string;
  requested_at: string;
}

/**
 * Asks for a user to be erased, through the erasure queue. The delay lets the user's deliveries
 * already queued land first (definitions.ts `erasure.delaySeconds`).
 */
export function sqsEraseRequester(
  sqs: Pick<SQSClient, 'send'>,
  queueUrl: string,
  options: { delaySeconds?: number; now?: () => number } = {},
) {
  const now = options.now ?? Date.now;
  return async (userId: string, trigger: string): Promise<void> => {
    const request: EraseRequest = { user_id: userId, trigger, requested_at: new Date(now()).toISOString() };
    // Only after a deauth with eraseOnDeauth on: the SQS commands load on first use.
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(request),
        DelaySeconds: options.delaySeconds ?? erasure.delaySeconds,
      }),
    );
  };
}

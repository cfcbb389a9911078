import { randomUUID } from 'node:crypto';
import type { Delivery } from '../../../lambdas/shared/delivery';

/**
 * A synchronous answer of Terra's REST API (`{user, data, type}`, or `{athlete, type, user}`) goes
 * onto the webhook's queue exactly as a webhook delivery would, through the ingest function's own
 * `sqsEnqueue` (claim check to the payload bucket when large). The consumer then applies the same
 * identity, ordering and archive rules as to anything Terra pushes.
 */

export interface SynchronousAnswer {
  /** The answer's bytes, as Terra sent them. */
  body: Buffer;
  /** When the request that got this answer was sent (ms). */
  requestedAt: number;
}

/**
 * The answer as a delivery. Its ordering key is the time of the request: the answer is Terra's
 * state at that moment, so it replaces copies pushed before and yields to copies pushed after.
 * There is no signature; `signatureTimestamp` is the same instant in seconds, as the webhook's
 * fallback would read it.
 */
export function deliveryOf(answer: SynchronousAnswer, receivedAt: Date, traceId = `backfill:${randomUUID()}`): Delivery {
  return {
    body: answer.body,
    signatureTimestamp: Math.floor(answer.requestedAt / 1000),
    orderingTimestamp: answer.requestedAt,
    receivedAt: receivedAt.toISOString(),
    traceId,
  };
}

export type AnswerContents = { ok: true; userId: string; type: string; records: number } | { ok: false; reason: string };

/**
 * What an answer holds, checked before it is enqueued: a body the consumer would keep as invalid
 * (or one for another user) means the request went wrong, and the window is reported as failed.
 */
export function answerContents(body: Buffer, expected: { type: string; userId: string }): AnswerContents {
  let parsed: { type?: unknown; user?: { user_id?: unknown }; data?: unknown; athlete?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `the answer is not JSON: ${(error as Error).message}` };
  }
  const userId = parsed?.user?.user_id;
  if (typeof userId !== 'string' || userId === '') return { ok: false, reason: 'the answer names no user.user_id' };
  if (userId !== expected.userId) return { ok: false, reason: `the answer is for user ${userId}, not ${expected.userId}` };
  if (parsed.type !== expected.type)
    return { ok: false, reason: `the answer's type is ${JSON.stringify(parsed.type)}, not "${expected.type}"` };
  if (expected.type === 'athlete') {
    if (!parsed.athlete || typeof parsed.athlete !== 'object') return { ok: false, reason: 'the answer has no athlete object' };
    return { ok: true, userId, type: expected.type, records: 1 };
  }
  if (!Array.isArray(parsed.data)) return { ok: false, reason: 'the answer has no data list' };
  return { ok: true, userId, type: expected.type, records: parsed.data.length };
}

export type EnqueueOutcome = { ok: true; records: number; traceId?: string } | { ok: false; reason: string };

/**
 * Checks the answer and enqueues it; an answer with no records has nothing to store and is not
 * enqueued (the consumer would only keep it as an empty event).
 */
export async function enqueueAnswer(
  enqueue: (delivery: Delivery) => Promise<void>,
  answer: SynchronousAnswer,
  expected: { type: string; userId: string },
  now: () => number,
): Promise<EnqueueOutcome> {
  const contents = answerContents(answer.body, expected);
  if (!contents.ok) return contents;
  if (contents.records === 0) return { ok: true, records: 0 };
  const delivery = deliveryOf(answer, new Date(now()));
  try {
    await enqueue(delivery);
  } catch (error) {
    return { ok: false, reason: `the answer (${contents.records} records) could not be enqueued: ${(error as Error).message}` };
  }
  return { ok: true, records: contents.records, traceId: delivery.traceId };
}

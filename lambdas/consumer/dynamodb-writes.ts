import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

const isConditionFailed = (error: unknown): error is ConditionalCheckFailedException =>
  error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException';

/** Runs a conditional write; false when the condition kept the stored copy. */
export async function conditionally(write: () => Promise<unknown>): Promise<boolean> {
  return (await conditionallyReturning(write)).written;
}

/**
 * As `conditionally`, with the stored item that failed the condition when the write asked for it
 * (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`) and DynamoDB sent it: still marshalled, as
 * the document client leaves an error's fields.
 */
export async function conditionallyReturning(
  write: () => Promise<unknown>,
): Promise<{ written: boolean; stored?: Record<string, AttributeValue> }> {
  try {
    await write();
    return { written: true };
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    return { written: false, ...(error.Item && { stored: error.Item }) };
  }
}

/** DynamoDB refused the item itself (size, an unsupported value): retrying will not help. */
export function isItemRejected(error: unknown): boolean {
  return (error as Error).name === 'ValidationException';
}

/**
 * Runs `work` on every item, at most `limit` at a time. After a failure no further item starts, and
 * it waits for those already running: nothing of this delivery may still be writing once the
 * caller has moved on (and SQS has handed the message to another consumer).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await work(items[index]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}

/**
 * Waits for every one of a delivery's writes running side by side (the archive, the records, a
 * backfill's count) to settle, then throws the first that failed: as with mapLimit, nothing of
 * the delivery may still be writing once the caller has moved on.
 */
export async function allSettled<T extends unknown[]>(writes: [...T]): Promise<{ [K in keyof T]: Awaited<T[K]> }> {
  let failure: { error: unknown } | undefined;
  const results = await Promise.all(
    writes.map((write) =>
      Promise.resolve(write).catch((error: unknown) => {
        failure ??= { error };
      }),
    ),
  );
  if (failure) throw failure.error;
  return results as { [K in keyof T]: Awaited<T[K]> };
}

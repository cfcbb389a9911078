import { eventItemKey, readEventItem } from '../../../lambdas/shared/table-items';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { largeRequestId } from '../../../lambdas/consumer/items';
import type { TableTarget } from '../tables';

/**
 * `--wait`: follows the consumer's tracker of each asynchronous request (`large_request#<reference>`
 * in terra-events, lambdas/consumer/items.ts) until every data event Terra announced has arrived.
 *
 * Terra announces a large request (`large_request_processing`, then `large_request_sending` with
 * `expected_payloads`) only for ranges over a month; a range of 29–31 days comes as ONE data event
 * with the reference and no announcement (the stand-in does the same). So a request is complete:
 * - when `expected_payloads` is known and as many distinct payloads were received; or
 * - when nothing was announced, at least one payload was received, and no further payload or
 *   announcement arrived within a grace period after the last one (`graceMs`).
 * A request announced as processing but not yet sending (no count yet) keeps waiting.
 */

export interface TrackerState {
  /** `expected_payloads`, once `large_request_sending` arrived. */
  expected?: number;
  /** Distinct data events received with the reference. */
  received: number;
  /** An announcement arrived (the tracker became a `large_request`). */
  announced: boolean;
}

export type ReadTracker = (reference: string) => Promise<TrackerState | undefined>;

/** Reads the tracker with the tools' TableTarget (local stack or `--stack`). */
export function trackerReader(target: Pick<TableTarget, 'documentClient' | 'tableNames'>): ReadTracker {
  return async (reference) => {
    const { Item } = await target.documentClient.send(
      new GetCommand({ TableName: target.tableNames.events, Key: eventItemKey(largeRequestId(reference)), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const tracker = readEventItem(Item);
    return { expected: tracker.expectedPayloads, received: tracker.receivedPayloads, announced: tracker.type === 'large_request' };
  };
}

export interface RequestProgress {
  reference: string;
  tracker?: TrackerState;
  complete: boolean;
  /** When the tracker last changed (ms): the grace period counts from here. */
  changedAt?: number;
}

/** Whether a request is complete by the rule above. */
export function isComplete(tracker: TrackerState | undefined, quietForMs: number, graceMs: number): boolean {
  if (!tracker) return false;
  if (tracker.expected !== undefined) return tracker.received >= tracker.expected;
  return !tracker.announced && tracker.received >= 1 && quietForMs >= graceMs;
}

export interface WaitOptions {
  read: ReadTracker;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  timeoutMs: number;
  pollMs: number;
  graceMs: number;
  /** Called after each round of reads. */
  onProgress?: (progress: readonly RequestProgress[]) => void;
}

export interface WaitResult {
  progress: RequestProgress[];
  timedOut: boolean;
  /** The last error reading a tracker, if reads failed (they are retried until the timeout). */
  lastError?: string;
}

const sameState = (a: TrackerState | undefined, b: TrackerState | undefined) =>
  a?.expected === b?.expected && a?.received === b?.received && a?.announced === b?.announced;

export async function waitForRequests(references: readonly string[], options: WaitOptions): Promise<WaitResult> {
  const progress: RequestProgress[] = references.map((reference) => ({ reference, complete: false }));
  const deadline = options.now() + options.timeoutMs;
  let lastError: string | undefined;
  for (;;) {
    for (const request of progress.filter((entry) => !entry.complete)) {
      let tracker: TrackerState | undefined;
      try {
        tracker = await options.read(request.reference);
      } catch (error) {
        lastError = (error as Error).message;
        continue;
      }
      const now = options.now();
      if (!sameState(tracker, request.tracker)) {
        request.tracker = tracker;
        request.changedAt = now;
      }
      request.complete = isComplete(tracker, now - (request.changedAt ?? now), options.graceMs);
    }
    options.onProgress?.(progress);
    if (progress.every((entry) => entry.complete)) return { progress, timedOut: false, lastError };
    if (options.now() >= deadline) return { progress, timedOut: true, lastError };
    await options.sleep(Math.min(options.pollMs, Math.max(0, deadline - options.now())));
  }
}

/** `  [##########          ] 7/13 payloads, 1 of 2 requests complete` (unknown counts as `?`). */
export function progressLine(progress: readonly RequestProgress[], width = 30): string {
  const received = progress.reduce((sum, entry) => sum + (entry.tracker?.received ?? 0), 0);
  const known = progress.every((entry) => entry.tracker?.expected !== undefined || entry.complete);
  const expected = progress.reduce(
    (sum, entry) => sum + (entry.tracker?.expected ?? (entry.complete ? (entry.tracker?.received ?? 0) : 0)),
    0,
  );
  const done = progress.filter((entry) => entry.complete).length;
  const ratio = known && expected > 0 ? Math.min(1, received / expected) : done / progress.length;
  const filled = Math.round(ratio * width);
  const count = `${received}/${known ? expected : '?'} payloads`;
  return `  [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${count}, ${done} of ${progress.length} request${progress.length === 1 ? '' : 's'} complete`;
}

import type { Delivery } from '../../../lambdas/shared/delivery';
import { enqueueAnswer } from './enqueue';
import type { TerraApiClient } from './terra-api-client';
import { type ReadTracker, type RequestProgress, waitForRequests } from './wait';
import { describeWindow, type LedgerEntry, waitBeforeRequest, type Window } from './windows';

/**
 * One backfill, window by window (windows.ts plans them): pace the user within Terra's rolling
 * hour, ask Terra's REST API (terra-api-client.ts retries 429 and 5xx), put a synchronous answer
 * on the webhook's queue (enqueue.ts), note an asynchronous answer's reference, then, with
 * `--wait`, follow the references' trackers (wait.ts). Every window ends with an outcome: none is
 * dropped silently.
 */

export type WindowStatus = 'enqueued' | 'requested' | 'complete' | 'incomplete' | 'failed';

export interface WindowOutcome {
  window: Window;
  status: WindowStatus;
  /** Synchronous: records enqueued. */
  records?: number;
  /** Asynchronous: Terra's reference; with --wait, what the tracker counted. */
  reference?: string;
  received?: number;
  expected?: number;
  reason?: string;
}

export interface BackfillRequest {
  userId: string;
  windows: readonly Window[];
  withSamples: boolean;
}

export interface WaitSettings {
  read: ReadTracker;
  timeoutMs: number;
  pollMs: number;
  graceMs: number;
  onProgress?: (progress: readonly RequestProgress[]) => void;
}

export interface RunDeps {
  client: TerraApiClient;
  enqueue: (delivery: Delivery) => Promise<void>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  write: (line: string) => void;
  /** Days this run has requested for the user, and when (the rolling hour). */
  ledger: LedgerEntry[];
  userDaysPerHour: number;
  /** Set with --wait. */
  wait?: WaitSettings;
}

/**
 * What an answer is: the data itself (whatever was asked: `undefined`), or Terra's
 * `DataSentToWebhook`, whose reference comes from the body or the `terra-reference` header; an
 * asynchronous answer with no reference, or not `success`, cannot be followed and fails the window.
 */
function webhookAnswer(
  body: Buffer,
  header: string | undefined,
  mode: Window['mode'],
): { reference: string } | { problem: string } | undefined {
  let parsed: { reference?: unknown; data?: unknown; athlete?: unknown; status?: unknown; message?: unknown } = {};
  try {
    parsed = JSON.parse(body.toString('utf8')) ?? {};
  } catch {
    // Not JSON: the header alone can tell.
  }
  if (Array.isArray(parsed.data) || (parsed.athlete && typeof parsed.athlete === 'object')) return undefined;
  if (typeof parsed.status === 'string' && parsed.status !== 'success' && (parsed.reference !== undefined || mode === 'async')) {
    return { problem: `Terra answered status "${parsed.status}"${typeof parsed.message === 'string' ? `: ${parsed.message}` : ''}` };
  }
  const reference = typeof parsed.reference === 'string' && parsed.reference !== '' ? parsed.reference : header;
  if (reference) return { reference };
  return mode === 'async' ? { problem: 'Terra accepted the request but its answer carries no reference to follow' } : undefined;
}

async function requestWindow(request: BackfillRequest, window: Window, deps: RunDeps): Promise<WindowOutcome> {
  const pause = waitBeforeRequest(deps.ledger, window.days, deps.now(), deps.userDaysPerHour);
  if (pause > 0) {
    const until = new Date(deps.now() + pause).toISOString();
    deps.write(
      `  pausing ${Math.ceil(pause / 1000)} s (until ${until}): ${request.userId} would exceed ${deps.userDaysPerHour} requested days in an hour`,
    );
    await deps.sleep(pause);
  }
  const result = await deps.client.request({
    type: window.type,
    userId: request.userId,
    ...(window.type !== 'athlete' && { startDate: window.from, endDate: window.endDate }),
    toWebhook: window.mode === 'async',
    withSamples: request.withSamples,
  });
  if (!result.ok) return { window, status: 'failed', reason: result.reason };
  deps.ledger.push({ at: result.answeredAt, days: window.days });

  const webhook = webhookAnswer(result.body, result.reference, window.mode);
  if (webhook && 'problem' in webhook) return { window, status: 'failed', reason: webhook.problem };
  if (webhook) return { window, status: 'requested', reference: webhook.reference };
  const enqueued = await enqueueAnswer(
    deps.enqueue,
    { body: result.body, requestedAt: result.requestedAt },
    { type: window.type, userId: request.userId },
    deps.now,
  );
  if (!enqueued.ok) return { window, status: 'failed', reason: enqueued.reason };
  return { window, status: 'enqueued', records: enqueued.records };
}

export async function runBackfill(request: BackfillRequest, deps: RunDeps): Promise<WindowOutcome[]> {
  const outcomes: WindowOutcome[] = [];
  for (const window of request.windows) {
    deps.write(`→ ${describeWindow(window)}`);
    let outcome: WindowOutcome;
    try {
      outcome = await requestWindow(request, window, deps);
    } catch (error) {
      // A failure of our side (the queue, say) fails this window; the others are still asked for.
      outcome = { window, status: 'failed', reason: (error as Error).message };
    }
    deps.write(`  ${describeOutcome(outcome)}`);
    outcomes.push(outcome);
  }

  const requested = outcomes.filter((outcome) => outcome.status === 'requested');
  if (deps.wait && requested.length > 0) {
    deps.write(
      `Waiting for ${requested.length} request${requested.length === 1 ? '' : 's'} Terra sends through the webhook (timeout ${Math.round(deps.wait.timeoutMs / 1000)} s)…`,
    );
    const result = await waitForRequests(
      requested.map((outcome) => outcome.reference!),
      { ...deps.wait, now: deps.now, sleep: deps.sleep },
    );
    for (const [index, progress] of result.progress.entries()) {
      const outcome = requested[index]!;
      Object.assign(outcome, {
        status: progress.complete ? 'complete' : 'incomplete',
        received: progress.tracker?.received ?? 0,
        expected: progress.tracker?.expected,
        ...(!progress.complete && {
          reason: `timed out: ${progress.tracker?.received ?? 0} of ${progress.tracker?.expected ?? '?'} payloads received${result.lastError ? ` (last read error: ${result.lastError})` : ''}`,
        }),
      });
    }
  }
  return outcomes;
}

export function describeOutcome(outcome: WindowOutcome): string {
  switch (outcome.status) {
    case 'enqueued':
      return outcome.records === 0
        ? 'nothing in this window (Terra answered no records)'
        : `${outcome.records} record${outcome.records === 1 ? '' : 's'} enqueued for the consumer`;
    case 'requested':
      return `requested through the webhook: reference ${outcome.reference}`;
    case 'complete':
      return outcome.expected !== undefined
        ? `complete: ${outcome.received} of ${outcome.expected} payloads received (reference ${outcome.reference})`
        : `complete: ${outcome.received} payload${outcome.received === 1 ? '' : 's'} received, none announced (reference ${outcome.reference})`;
    case 'incomplete':
      return `INCOMPLETE (reference ${outcome.reference}): ${outcome.reason}`;
    case 'failed':
      return `FAILED: ${outcome.reason}`;
  }
}

/** A window failed for good, or not received in time: the run is not a success. */
export const isFailure = (outcome: WindowOutcome) => outcome.status === 'failed' || outcome.status === 'incomplete';

import { terraHeaders } from '../../../lambdas/shared/definitions';
import { signatureHeader } from '../../../lambdas/shared/signature';
import { type LoadPlan, copyOf } from './plan';

/** Sends a plan's deliveries with bounded concurrency, retrying as Terra does. */

export interface SendDeps {
  fetch: typeof fetch;
  /** Epoch ms. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export interface SendOptions {
  url: string;
  secret: string;
  concurrency: number;
  /** Attempts per delivery, the first included. */
  maxAttempts?: number;
  /** Backoff before the first retry; doubles each time. */
  retryDelayMs?: number;
  timeoutMs?: number;
  /** Called after each delivery settles, for progress lines. */
  onSettled?: (settled: number) => void;
}

export interface SendOutcome {
  acknowledged: boolean;
  /** Last HTTP status, or null when no response came back. */
  status: number | null;
  attempts: number;
  /** The accepted attempt's request time, ms. */
  latencyMs?: number;
  detail?: string;
}

/** Terra gives up on a 4xx and retries anything else; so does the load test. */
export const isRetryable = (status: number | null): boolean => status === null || status >= 500;

export async function sendOne(
  copy: { body: string; orderingTs: number; reference: string; traceId: string },
  options: SendOptions,
  deps: SendDeps,
): Promise<SendOutcome> {
  const maxAttempts = options.maxAttempts ?? 5;
  const outcome: SendOutcome = { acknowledged: false, status: null, attempts: 0 };
  while (outcome.attempts < maxAttempts) {
    if (outcome.attempts > 0) await deps.sleep((options.retryDelayMs ?? 200) * 2 ** (outcome.attempts - 1));
    outcome.attempts += 1;
    const started = deps.now();
    try {
      const response = await deps.fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          // Signed at send time, as Terra signs each attempt: a retry carries a fresh `t`.
          [terraHeaders.signature[0]]: signatureHeader(options.secret, copy.body, Math.floor(started / 1000)),
          [terraHeaders.orderingTimestamp]: String(copy.orderingTs),
          [terraHeaders.reference]: copy.reference,
          [terraHeaders.traceId]: copy.traceId,
        },
        body: copy.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
      const text = await response.text();
      outcome.status = response.status;
      if (response.ok) {
        outcome.acknowledged = true;
        outcome.latencyMs = deps.now() - started;
        delete outcome.detail;
        return outcome;
      }
      outcome.detail = text.replace(/\s+/g, ' ').slice(0, 200);
    } catch (error) {
      outcome.status = null;
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      outcome.detail = `${error instanceof Error ? error.message : String(error)}${cause}`;
    }
    if (!isRetryable(outcome.status)) return outcome;
  }
  return outcome;
}

/** One outcome per planned delivery, in plan order. */
export async function sendPlan(
  plan: Pick<LoadPlan, 'records' | 'deliveries'>,
  options: SendOptions,
  deps: SendDeps,
): Promise<SendOutcome[]> {
  const outcomes: SendOutcome[] = new Array(plan.deliveries.length);
  let next = 0;
  let settled = 0;
  const worker = async () => {
    while (next < plan.deliveries.length) {
      const index = next++;
      outcomes[index] = await sendOne(copyOf(plan, plan.deliveries[index]!), options, deps);
      settled += 1;
      options.onSettled?.(settled);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, plan.deliveries.length)) }, worker));
  return outcomes;
}

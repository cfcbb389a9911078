import { terraHeaders } from '../../../lambdas/shared/definitions';
import type { Logger } from '../../../lambdas/shared/logger';
import { signatureHeader } from '../../../lambdas/shared/signature';

/**
 * Posts events to the webhook as Terra does (docs/terra.md §1, §2, §7): signed with the
 * destination's secret, with `terra-reference`, `x-terra-trace-id` and
 * `x-terra-ordering-timestamp`. Each request's events go one after the other, each awaited,
 * so a backfill's announcements are acknowledged before its first chunk is sent.
 */

export interface WebhookEvent {
  body: unknown;
  /** `x-terra-trace-id`: the reference, or `<reference>:chunk:<n>` for a chunk. */
  traceId: string;
}

export interface DeliveryJob {
  reference: string;
  events: WebhookEvent[];
}

export interface DelivererOptions {
  webhookUrl: string;
  signingSecret: string;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => number;
  /** Pauses before each retry of a failed delivery (Terra's are minutes to hours; a stand-in's are short). */
  retryPausesMs?: readonly number[];
}

export interface Deliverer {
  /** Starts delivering in the background; the answer to the API request does not wait for it. */
  enqueue(job: DeliveryJob): void;
  /** Resolves when every job started so far has finished (delivered or given up). */
  settle(): Promise<void>;
  /** How many events were acknowledged, and given up on, since start. */
  counts(): { delivered: number; failed: number };
}

const defaultRetryPausesMs = [500, 2_000, 5_000];

export function createDeliverer(options: DelivererOptions): Deliverer {
  const post = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const pauses = options.retryPausesMs ?? defaultRetryPausesMs;
  const inFlight = new Set<Promise<void>>();
  let delivered = 0;
  let failed = 0;

  async function send(reference: string, event: WebhookEvent): Promise<boolean> {
    const raw = JSON.stringify(event.body);
    // The ordering timestamp is fixed for the event, whatever the retries (docs/terra.md §2).
    const orderingTimestamp = String(now());
    for (let attempt = 0; attempt <= pauses.length; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, pauses[attempt - 1]));
      try {
        const response = await post(options.webhookUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            // Each try is signed afresh, so a retry is never stale for the receiver's freshness check.
            'terra-signature': signatureHeader(options.signingSecret, raw, Math.floor(now() / 1000)),
            [terraHeaders.reference]: reference,
            [terraHeaders.traceId]: event.traceId,
            [terraHeaders.orderingTimestamp]: orderingTimestamp,
          },
          body: raw,
        });
        await response.arrayBuffer();
        if (response.ok) return true;
        options.logger.warn('Terra API stand-in: webhook refused a delivery', {
          reference,
          traceId: event.traceId,
          status: response.status,
        });
      } catch (error) {
        options.logger.warn('Terra API stand-in: webhook unreachable', { reference, traceId: event.traceId, error: String(error) });
      }
    }
    return false;
  }

  async function run(job: DeliveryJob): Promise<void> {
    for (const event of job.events) {
      if (await send(job.reference, event)) delivered++;
      else {
        failed++;
        options.logger.error('Terra API stand-in: gave up on a delivery', { reference: job.reference, traceId: event.traceId });
      }
    }
  }

  return {
    enqueue(job) {
      const running = run(job).finally(() => inFlight.delete(running));
      inFlight.add(running);
    },
    async settle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    counts: () => ({ delivered, failed }),
  };
}

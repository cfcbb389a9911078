import { observability } from '../shared/definitions';
import { stdoutLine, writeEmf } from '../shared/emf';
import type { SignatureFailure } from '../shared/signature';

/** Why a request was refused; the `reason` dimension of DeliveriesRejected. */
export type RejectionReason = SignatureFailure | 'source_ip_not_allowed' | 'signing_secret_unavailable';

/** What one request came to: each request is published once. */
export type IngestResult =
  | { outcome: 'accepted'; bodyBytes: number; claimChecked: boolean }
  | { outcome: 'rejected'; reason: RejectionReason }
  | { outcome: 'enqueue_failed' };

export interface IngestMetrics {
  publish(result: IngestResult): void;
}

export const noIngestMetrics: IngestMetrics = { publish: () => {} };

const { metrics: names, namespace } = observability;
const service = observability.services.ingest;

/**
 * One EMF line per request. A rejection is published under `service` and under `service` +
 * `reason`, so one alarm can watch the total and a dashboard can break it down.
 */
export function emfIngestMetrics(write: (line: string) => void = stdoutLine, now: () => number = Date.now): IngestMetrics {
  return {
    publish(result) {
      const timestamp = now();
      switch (result.outcome) {
        case 'accepted':
          return writeEmf(
            {
              namespace,
              dimensions: { service },
              dimensionSets: [['service']],
              metrics: [
                { name: names.deliveriesAccepted, unit: 'Count', value: 1 },
                { name: names.bodyBytes, unit: 'Bytes', value: result.bodyBytes },
                // 0 or 1 on every accepted delivery: the sum counts claim checks, the average is their share.
                { name: names.claimChecked, unit: 'Count', value: result.claimChecked ? 1 : 0 },
              ],
              timestamp,
            },
            write,
          );
        case 'rejected':
          return writeEmf(
            {
              namespace,
              dimensions: { service, reason: result.reason },
              dimensionSets: [['service'], ['service', 'reason']],
              metrics: [{ name: names.deliveriesRejected, unit: 'Count', value: 1 }],
              timestamp,
            },
            write,
          );
        case 'enqueue_failed':
          return writeEmf(
            {
              namespace,
              dimensions: { service },
              dimensionSets: [['service']],
              metrics: [{ name: names.enqueueFailed, unit: 'Count', value: 1 }],
              timestamp,
            },
            write,
          );
      }
    },
  };
}

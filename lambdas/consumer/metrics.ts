import { observability } from '../shared/definitions';
import { type EmfMetric, stdoutLine, writeEmf } from '../shared/emf';
import type { OutcomeCounter } from './batch';

const { metrics: names, namespace } = observability;
const service = observability.services.consumer;

/** What the consumer counts, gathered over one invocation and written when it ends. */
export interface ConsumerMetrics extends OutcomeCounter {
  /** Writes what was counted since the last flush (nothing when nothing was), and starts again. */
  flush(): void;
}

/**
 * The consumer's metrics as EMF lines (lambdas/shared/emf.ts), one for the invocation under
 * `service`, and one per kept-event outcome under `service` + `outcome`, so "invalid" or
 * "ping_fetch_failed" can each be alarmed on. PayloadBytes keeps one value per delivery, so its
 * average and maximum are per delivery.
 */
export function emfConsumerMetrics(write: (line: string) => void = stdoutLine, now: () => number = Date.now): ConsumerMetrics {
  let written = 0;
  let skipped = 0;
  let pingDownloadFailures = 0;
  let counted = false;
  let payloadBytes: number[] = [];
  let kept = new Map<string, number>();
  return {
    count({ outcome, written: itemsWritten, skipped: itemsSkipped, payloadBytes: bytes }) {
      counted = true;
      written += itemsWritten;
      skipped += itemsSkipped;
      if (bytes !== undefined) payloadBytes.push(bytes);
      if (outcome) kept.set(outcome, (kept.get(outcome) ?? 0) + 1);
    },
    pingDownloadFailed() {
      counted = true;
      pingDownloadFailures++;
    },
    flush() {
      if (!counted) return;
      const timestamp = now();
      const metrics: EmfMetric[] = [
        { name: names.itemsWritten, unit: 'Count', value: written },
        { name: names.staleOrRepeatedSkipped, unit: 'Count', value: skipped },
      ];
      // EMF takes at most 100 values of a metric per line.
      if (payloadBytes.length > 0) metrics.push({ name: names.payloadBytes, unit: 'Bytes', value: payloadBytes.slice(0, 100) });
      if (pingDownloadFailures > 0) metrics.push({ name: names.pingDownloadFailures, unit: 'Count', value: pingDownloadFailures });
      writeEmf({ namespace, dimensions: { service }, dimensionSets: [['service']], metrics, timestamp }, write);
      for (const [outcome, count] of kept) {
        writeEmf(
          {
            namespace,
            dimensions: { service, outcome },
            dimensionSets: [['service', 'outcome']],
            metrics: [{ name: names.eventsKept, unit: 'Count', value: count }],
            timestamp,
          },
          write,
        );
      }
      written = skipped = pingDownloadFailures = 0;
      payloadBytes = [];
      kept = new Map();
      counted = false;
    },
  };
}

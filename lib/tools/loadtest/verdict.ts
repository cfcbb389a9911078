import type { LoadPlan } from './plan';

/**
 * Whether anything authentic was lost: compares what was acknowledged with what the data table
 * holds afterwards. Pure, so the counting rules are tested on crafted inputs.
 */

/** A data-table item of one of the run's users, reduced to what the verdict compares. */
export interface StoredItem {
  userId: string;
  recordId: string;
  orderingTs: number;
  /** `loadtest.version` inside the stored payload; undefined when it cannot be read. */
  version?: number;
}

export interface Verdict {
  sent: number;
  acknowledged: number;
  /** Deliveries never acknowledged, even after retries. */
  failed: number;
  /** Records with at least one acknowledged copy. */
  expected: number;
  /** Expected records found in the table. */
  stored: number;
  lost: number;
  stale: number;
  /** Items of the run's users whose record_id was never planned. */
  duplicates: number;
  /** A few examples per problem, for a person to look up with `npm run inspect`. */
  examples: string[];
}

const keyOf = (userId: string, recordId: string) => `${userId}\u0000${recordId}`;
const maxExamples = 5;

export function judge(
  plan: Pick<LoadPlan, 'records' | 'deliveries'>,
  acknowledged: readonly boolean[],
  items: readonly StoredItem[],
): Verdict {
  // The newest acknowledged copy of each record: the one the table must end up holding.
  const newest = new Map<number, number>();
  plan.deliveries.forEach((delivery, index) => {
    if (!acknowledged[index]) return;
    newest.set(delivery.record, Math.max(newest.get(delivery.record) ?? -1, delivery.copy));
  });
  const byKey = new Map(items.map((item) => [keyOf(item.userId, item.recordId), item]));
  const planned = new Set(plan.records.map((record) => keyOf(record.userId, record.recordId)));

  const verdict: Verdict = {
    sent: plan.deliveries.length,
    acknowledged: acknowledged.filter(Boolean).length,
    failed: 0,
    expected: newest.size,
    stored: 0,
    lost: 0,
    stale: 0,
    duplicates: 0,
    examples: [],
  };
  verdict.failed = verdict.sent - verdict.acknowledged;
  const example = (line: string) => {
    if (verdict.examples.length < maxExamples * 3) verdict.examples.push(line);
  };

  for (const [recordIndex, copyIndex] of newest) {
    const record = plan.records[recordIndex]!;
    const want = record.copies[copyIndex]!;
    const item = byKey.get(keyOf(record.userId, record.recordId));
    if (!item) {
      verdict.lost += 1;
      if (verdict.lost <= maxExamples) example(`lost   ${record.userId} ${record.recordId} (newest acknowledged v${want.version})`);
      continue;
    }
    verdict.stored += 1;
    if (item.orderingTs < want.orderingTs || (item.version ?? -Infinity) < want.version) {
      verdict.stale += 1;
      if (verdict.stale <= maxExamples) {
        example(
          `stale  ${record.userId} ${record.recordId} holds v${item.version ?? '?'} @${item.orderingTs}, acknowledged v${want.version} @${want.orderingTs}`,
        );
      }
    }
  }
  for (const item of items) {
    if (planned.has(keyOf(item.userId, item.recordId))) continue;
    verdict.duplicates += 1;
    if (verdict.duplicates <= maxExamples) example(`extra  ${item.userId} ${item.recordId}`);
  }
  return verdict;
}

/** Everything a person needs to trust the run: all must hold for exit code 0. */
export function passed(verdict: Verdict, drained: boolean): boolean {
  return (
    drained &&
    verdict.lost === 0 &&
    verdict.stale === 0 &&
    verdict.duplicates === 0 &&
    verdict.failed === 0 &&
    verdict.stored === verdict.expected
  );
}

/** Nearest-rank percentile of unsorted values; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface RunTimings {
  retries: number;
  /** Seconds from the first send to the last acknowledgement. */
  ackSeconds: number;
  /** Seconds from the first send until the queue was drained (or the wait gave up). */
  endToEndSeconds: number;
  drained: boolean;
  /** Per acknowledged delivery: the accepted attempt's request time, ms. */
  latenciesMs: readonly number[];
  /** Messages the dead-letter queue gained during the run. */
  deadLettered?: number;
}

export function formatReport(verdict: Verdict, timings: RunTimings): string {
  const rate = (count: number, seconds: number) => (seconds > 0 ? (count / seconds).toFixed(0) : '-');
  const rows: [string, string][] = [
    ['sent', String(verdict.sent)],
    ['acknowledged', String(verdict.acknowledged)],
    ['failed (never acknowledged)', String(verdict.failed)],
    ['retried (5xx / network)', String(timings.retries)],
    ['distinct records expected', String(verdict.expected)],
    ['stored', String(verdict.stored)],
    ['lost', String(verdict.lost)],
    ['stale overwrites', String(verdict.stale)],
    ['duplicates', String(verdict.duplicates)],
    ...(timings.deadLettered === undefined ? [] : [['dead-lettered during run', String(timings.deadLettered)] as [string, string]]),
    ['queue drained', timings.drained ? 'yes' : 'NO (timed out)'],
    ['ack throughput', `${rate(verdict.acknowledged, timings.ackSeconds)} deliveries/s (${timings.ackSeconds.toFixed(1)} s)`],
    ['end-to-end throughput', `${rate(verdict.sent, timings.endToEndSeconds)} deliveries/s (${timings.endToEndSeconds.toFixed(1)} s)`],
    ['ack latency p50 / p99', `${percentile(timings.latenciesMs, 50)} ms / ${percentile(timings.latenciesMs, 99)} ms`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`);
  const verdictLine = passed(verdict, timings.drained) ? 'PASS: nothing acknowledged was lost' : 'FAIL';
  const details = verdict.examples.map((line) => `  ${line}`);
  return [...lines, '', ...details, ...(details.length > 0 ? [''] : []), verdictLine].join('\n');
}

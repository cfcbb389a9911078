import type { DeliveryOutcome } from '../../../lambdas/consumer/process';
import type { Route } from '../../../lambdas/consumer/route';

/**
 * What a kept body became when the current consumer ran it again, and what to write on its
 * terra-events item. Pure: the I/O is in run.ts.
 */

/** The outcomes reprocess selects: what a newer consumer may turn into records. */
export const keptOutcomes = ['invalid', 'unknown_type', 'ping_fetch_failed'] as const;
export type KeptOutcome = (typeof keptOutcomes)[number];

/** The outcome of a kept body that became records or a connection change; never selected again. */
export const reprocessedOutcome = 'reprocessed';

export interface Verdict {
  /** `reprocessed`: it became records; `kept`: still kept, with a new outcome or reason; `unchanged`: nothing to write. */
  change: 'reprocessed' | 'kept' | 'unchanged';
  outcome: string;
  reason: string;
  /** More attributes of a kept event, as a fresh delivery would have them (a lab report's session_id). */
  attributes?: Record<string, string>;
}

export interface KeptItem {
  outcome: string;
  reason?: string;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** In words, what records or connection state a delivery became, for the item's new `reason`. */
function became(result: DeliveryOutcome): string {
  if (result.route === 'connection') {
    const left = result.skipped > 0 ? `, ${result.skipped} left as stored (a newer state was there)` : '';
    return `applied ${result.type}: ${count(result.written, 'connection state')} updated${left}`;
  }
  const left = result.skipped > 0 ? `; ${result.skipped} left as stored (a copy as new or newer was already there)` : '';
  return `stored ${count(result.written, `${result.type} record`)}${left}`;
}

/**
 * `route` is routeBody() of the kept body; `result` is what processDelivery did with it. A body
 * that became records (or a connection change) is `reprocessed`. One the consumer still keeps,
 * even beside records it stored (some records refused), keeps the consumer's outcome and reason:
 * a fresh delivery of it would be kept so too, and a second run then finds it unchanged.
 */
export function verdictOf(item: KeptItem, route: Route, result: DeliveryOutcome): Verdict {
  if (result.ping) {
    // The wrapper did its job: the fetched body went through the consumer (kept under its own event_id if at all).
    const what =
      result.outcome && result.route === 'event' ? `kept as ${result.outcome} (${result.type}) under its own event_id` : became(result);
    return { change: 'reprocessed', outcome: reprocessedOutcome, reason: `Ping-mode payload fetched: ${what}` };
  }
  if (!result.outcome) return { change: 'reprocessed', outcome: reprocessedOutcome, reason: became(result) };
  // The consumer's own reason: a fresh delivery of this body would be kept with it.
  const reason = result.reason ?? item.reason ?? `kept as ${result.outcome} when reprocessed`;
  const attributes = route.kind === 'event' && route.attributes && Object.keys(route.attributes).length > 0 ? route.attributes : undefined;
  const same = result.outcome === item.outcome && reason === item.reason;
  return { change: same ? 'unchanged' : 'kept', outcome: result.outcome, reason, ...(attributes && { attributes }) };
}

/** A dry run: what the body would become, from routing alone (nothing is fetched or written). */
export function predictedVerdict(item: KeptItem, route: Route): Verdict {
  if (route.kind === 'event' && route.type === 's3_payload') {
    return {
      change: 'unchanged',
      outcome: item.outcome,
      reason: 'Ping mode: the payload would be fetched again (not on a dry run); stays kept unless the download works',
    };
  }
  if (route.kind === 'data') {
    const store = `would store ${count(route.records.length, `${route.type} record`)}`;
    if (!route.refused) return { change: 'reprocessed', outcome: reprocessedOutcome, reason: store };
    const change = item.outcome === 'invalid' && item.reason === route.refused.reason ? 'unchanged' : 'kept';
    return { change, outcome: 'invalid', reason: `${store}; still kept: ${route.refused.reason}` };
  }
  if (route.kind === 'connection') {
    return {
      change: 'reprocessed',
      outcome: reprocessedOutcome,
      reason: `would apply ${route.type} to ${count(route.changes.length, 'connection state')}`,
    };
  }
  const same = route.outcome === item.outcome && route.reason === item.reason;
  return { change: same ? 'unchanged' : 'kept', outcome: route.outcome, reason: route.reason };
}

import { eventAttributes as event } from '../../../lambdas/shared/attributes';
import { eventItemKey, readEventItem } from '../../../lambdas/shared/table-items';
import { GetCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionally, mapLimit } from '../../../lambdas/consumer/dynamodb-writes';
import { type ConsumerDependencies, processDelivery, type TableNames } from '../../../lambdas/consumer/process';
import { routeBody } from '../../../lambdas/consumer/route';
import { eventsTable, queueSettings } from '../../../lambdas/shared/definitions';
import type { QueuedDelivery } from '../../../lambdas/shared/delivery';
import { eventBody } from '../../../lambdas/shared/record-payload';
import type { TableTarget } from '../tables';
import { type KeptOutcome, predictedVerdict, type Verdict, verdictOf } from './verdict';

/**
 * `npm run reprocess`: runs bodies kept in terra-events (invalid, unknown type, failed Ping
 * download) through the current consumer, in-process, with their original delivery metadata.
 * After an upgrade that learns a type or loosens a rule, what an older version kept becomes
 * records; "newest wins" still holds, since the original ordering key travels with the body.
 */

export { type KeptOutcome, keptOutcomes } from './verdict';

/** The tables and payload bucket to reprocess in: the local stack, or a deployed stack's. */
export type ReprocessTarget = Omit<TableTarget, 'tableNames'> & { tableNames: TableNames };

/** Arrival window over `received_at`: [from, toExclusive). Either end may be open. */
export interface ReceivedWindow {
  from?: Date;
  toExclusive?: Date;
}

export interface ReprocessOptions {
  outcomes: readonly KeptOutcome[];
  type?: string;
  window: ReceivedWindow;
  dryRun?: boolean;
  /** Items run side by side; their writes are conditional, so order between them does not matter. */
  concurrency?: number;
  now?: () => number;
  /** The consumer's HTTP client for Ping-mode downloads. */
  fetch?: typeof fetch;
  onSelected?: (total: number) => void;
  onItem?: (result: ItemResult, done: number, total: number) => void;
}

/** One selected entry of the outcome-received-at index. */
export interface KeptEntry {
  eventId: string;
  outcome: KeptOutcome;
  receivedAt: string;
  type: string;
  userId?: string;
}

export type ItemResult =
  | ({ entry: KeptEntry; status: 'done' | 'dry_run'; recordsWritten: number; recordsLeftAlone: number } & Verdict)
  /** Reprocessed or changed by someone else between listing and reading (or writing). */
  | { entry: KeptEntry; status: 'moved' }
  | { entry: KeptEntry; status: 'failed'; error: string };

export interface ReprocessSummary {
  selected: number;
  /** `before → after` → how many. */
  transitions: Record<string, number>;
  /** Items whose outcome or reason was updated. */
  updated: number;
  recordsWritten: number;
  recordsLeftAlone: number;
  moved: number;
  failures: Extract<ItemResult, { status: 'failed' }>[];
}

const outcomeIndex = eventsTable.globalSecondaryIndexes[0];

/** The sort-key part of the index query: BETWEEN, >= or <=, on ISO strings as the consumer writes them. */
export function windowCondition(window: ReceivedWindow): { expression: string; values: Record<string, string> } {
  const from = window.from?.toISOString();
  // received_at has millisecond resolution, so "before toExclusive" is "at most 1 ms earlier".
  const last = window.toExclusive && new Date(window.toExclusive.getTime() - 1).toISOString();
  if (from && last) return { expression: ' AND #received_at BETWEEN :from AND :last', values: { ':from': from, ':last': last } };
  if (from) return { expression: ' AND #received_at >= :from', values: { ':from': from } };
  if (last) return { expression: ' AND #received_at <= :last', values: { ':last': last } };
  return { expression: '', values: {} };
}

/** Lists the kept events to reprocess, oldest first per outcome, from the index (keys, type, user). */
export async function selectKept(
  target: ReprocessTarget,
  options: Pick<ReprocessOptions, 'outcomes' | 'type' | 'window'>,
): Promise<KeptEntry[]> {
  const entries: KeptEntry[] = [];
  const window = windowCondition(options.window);
  for (const outcome of options.outcomes) {
    const pages = paginateQuery(
      { client: target.documentClient },
      {
        TableName: target.tableNames.events,
        IndexName: outcomeIndex.indexName,
        KeyConditionExpression: `#outcome = :outcome${window.expression}`,
        ...(options.type && { FilterExpression: '#type = :type' }),
        ExpressionAttributeNames: {
          '#outcome': event.outcome,
          ...(window.expression && { '#received_at': event.receivedAt }),
          ...(options.type && { '#type': event.type }),
        },
        ExpressionAttributeValues: { ':outcome': outcome, ...window.values, ...(options.type && { ':type': options.type }) },
      },
    );
    for await (const page of pages) {
      for (const item of (page.Items ?? []).map(readEventItem)) {
        entries.push({ eventId: item.eventId, outcome, receivedAt: String(item.receivedAt), type: String(item.type), userId: item.userId });
      }
    }
  }
  return entries;
}

/** The delivery as the consumer first saw it, back from the kept item. */
export function deliveryOf(item: Record<string, unknown>, body: Buffer): QueuedDelivery {
  const kept = readEventItem(item);
  const orderingTs = Number(kept.orderingTs);
  const signatureTs = Number(kept.signatureTs);
  return {
    body,
    signatureTimestamp: Number.isFinite(signatureTs) ? signatureTs : Math.floor(orderingTs / 1000),
    // The stored ordering key is what orderingTimestampOf() made of the original delivery.
    orderingTimestamp: orderingTs,
    receivedAt: String(kept.receivedAt),
    terraReference: kept.terraReference,
    traceId: kept.traceId,
  };
}

function verdictUpdate(table: string, eventId: string, previous: string, verdict: Verdict, now: number) {
  const fields: Record<string, unknown> = {
    ...verdict.attributes,
    [event.outcome]: verdict.outcome,
    [event.reason]: verdict.reason,
    [event.reprocessedAt]: new Date(now).toISOString(),
    [event.previousOutcome]: previous,
  };
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':previous': previous };
  const assignments = Object.entries(fields).map(([name, value]) => {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    return `#${name} = :${name}`;
  });
  return new UpdateCommand({
    TableName: table,
    Key: eventItemKey(eventId),
    UpdateExpression: `SET ${assignments.join(', ')}`,
    // Another run (or person) may have got there first; theirs stands.
    ConditionExpression: `#${event.outcome} = :previous`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  });
}

export async function reprocessEntry(target: ReprocessTarget, entry: KeptEntry, options: ReprocessOptions): Promise<ItemResult> {
  const { documentClient: db, tableNames } = target;
  const { Item: item } = await db.send(
    new GetCommand({ TableName: tableNames.events, Key: eventItemKey(entry.eventId), ConsistentRead: true }),
  );
  // The index is eventually consistent: an item reprocessed a moment ago may still be listed.
  const stored = item && readEventItem(item);
  if (!item || stored?.outcome !== entry.outcome) return { entry, status: 'moved' };
  const body = await eventBody(item, target.s3);
  const kept = { outcome: String(stored.outcome), reason: stored.reason };
  const route = routeBody(body.toString('utf8'));
  if (options.dryRun) return { entry, status: 'dry_run', recordsWritten: 0, recordsLeftAlone: 0, ...predictedVerdict(kept, route) };

  const deps: ConsumerDependencies = {
    documentClient: db,
    tables: tableNames,
    s3: target.s3,
    bucket: target.bucket,
    now: options.now,
    fetch: options.fetch,
  };
  // Run as the last try: a Ping download that fails is kept again rather than thrown for a retry.
  const result = await processDelivery(deliveryOf(item, body), deps, queueSettings.maxReceiveCount);
  const verdict = verdictOf(kept, route, result);
  const records =
    result.route === 'data'
      ? { recordsWritten: result.written, recordsLeftAlone: result.skipped }
      : { recordsWritten: 0, recordsLeftAlone: 0 };
  if (verdict.change !== 'unchanged') {
    const now = (options.now ?? Date.now)();
    if (!(await conditionally(() => db.send(verdictUpdate(tableNames.events, entry.eventId, entry.outcome, verdict, now))))) {
      return { entry, status: 'moved' };
    }
  }
  return { entry, status: 'done', ...records, ...verdict };
}

const defaultConcurrency = 4;

export async function reprocessKept(target: ReprocessTarget, options: ReprocessOptions): Promise<ReprocessSummary> {
  const entries = await selectKept(target, options);
  options.onSelected?.(entries.length);
  const summary: ReprocessSummary = {
    selected: entries.length,
    transitions: {},
    updated: 0,
    recordsWritten: 0,
    recordsLeftAlone: 0,
    moved: 0,
    failures: [],
  };
  let done = 0;
  await mapLimit(entries, options.concurrency ?? defaultConcurrency, async (entry) => {
    let result: ItemResult;
    try {
      result = await reprocessEntry(target, entry, options);
    } catch (error) {
      result = { entry, status: 'failed', error: error instanceof Error ? error.message : String(error) };
    }
    if (result.status === 'failed') summary.failures.push(result);
    else if (result.status === 'moved') summary.moved++;
    else {
      const transition = `${entry.outcome} → ${result.change === 'unchanged' ? `${result.outcome} (unchanged)` : result.outcome}`;
      summary.transitions[transition] = (summary.transitions[transition] ?? 0) + 1;
      if (result.status === 'done' && result.change !== 'unchanged') summary.updated++;
      summary.recordsWritten += result.recordsWritten;
      summary.recordsLeftAlone += result.recordsLeftAlone;
    }
    options.onItem?.(result, ++done, entries.length);
  });
  return summary;
}

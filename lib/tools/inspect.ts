import { GetCommand, paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import { largeRequestId } from '../../lambdas/consumer/items';
import { payloadStorage, readRecord } from '../../lambdas/shared/record-payload';
import type { TableTarget } from './tables';

/** `npm run inspect`: one user's connection state and records, as a person reads them. */

export interface UserReport {
  user?: Record<string, unknown>;
  records: Record<string, unknown>[];
  /** The records' payloads, read whichever way they were kept. */
  payloads: unknown[];
}

export async function loadUser(target: TableTarget, userId: string, type?: string): Promise<UserReport> {
  const { documentClient: db, tableNames } = target;
  const { Item: user } = await db.send(new GetCommand({ TableName: tableNames.users, Key: { user_id: userId } }));
  const records: Record<string, unknown>[] = [];
  const pages = paginateQuery(
    { client: db },
    {
      TableName: tableNames.data,
      KeyConditionExpression: type ? 'user_id = :user AND begins_with(record_id, :type)' : 'user_id = :user',
      ExpressionAttributeValues: { ':user': userId, ...(type && { ':type': `${type}#` }) },
    },
  );
  for await (const page of pages) records.push(...(page.Items ?? []));
  const payloads = await Promise.all(records.map((record) => readRecord(record, target.s3)));
  return { user, records, payloads };
}

/** How many kept events there are of each outcome: what `invalid` or `unknown_type` looks like. */
export async function countEvents(target: TableTarget): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const pages = paginateScan(
    { client: target.documentClient },
    { TableName: target.tableNames.events, ProjectionExpression: 'outcome, #type', ExpressionAttributeNames: { '#type': 'type' } },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const key = `${item.outcome} (${item.type})`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  return counts;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const text = (value: unknown) => (value === undefined || value === null ? '-' : String(value));

function sampleCount(payload: unknown): string {
  // The arrays people ask about first: heart-rate and glucose samples.
  const record = payload as {
    heart_rate_data?: { detailed?: { hr_samples?: unknown } };
    glucose_data?: { blood_glucose_samples?: unknown };
    sleep_durations_data?: { hypnogram_samples?: unknown };
  } | null;
  const samples =
    record?.heart_rate_data?.detailed?.hr_samples ??
    record?.glucose_data?.blood_glucose_samples ??
    record?.sleep_durations_data?.hypnogram_samples;
  return Array.isArray(samples) ? String(samples.length) : '-';
}

export function formatUserReport(userId: string, { user, records, payloads }: UserReport, source: string): string {
  const out: string[] = [`terra-ingest · ${source} · user ${userId}`, ''];
  if (user) {
    out.push('Connection (terra-users)');
    const fields = ['provider', 'reference_id', 'status', 'active', 'scopes', 'last_event_type', 'updated_at', 'replaced_by', 'replaces'];
    out.push(table(fields.filter((field) => user[field] !== undefined).map((field) => [`  ${field}`, text(user[field])])));
  } else {
    out.push('Connection (terra-users): no connection event received for this user yet');
  }
  out.push('', `Records (terra-data): ${records.length}`);
  if (records.length > 0) {
    const rows = [['  record_id', 'provider', 'start_time', 'end_time', 'samples', 'stored as', 'ordering_ts', 'received_at']];
    for (const [index, item] of records.entries()) {
      const payload = payloads[index];
      rows.push([
        `  ${text(item.record_id)}`,
        text(item.provider),
        text(item.start_time),
        text(item.end_time),
        sampleCount(payload),
        payloadStorage(item),
        new Date(Number(item.ordering_ts)).toISOString(),
        text(item.received_at),
      ]);
    }
    out.push(table(rows));
  }
  return out.join('\n');
}

export function formatEventCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort();
  if (entries.length === 0) return 'Kept events (terra-events): none';
  return ['Kept events (terra-events), by outcome', table(entries.map(([key, count]) => [`  ${key}`, String(count)]))].join('\n');
}

/** A historical request (terra-reference): how many of its data events have arrived. */
export async function loadRequest(target: TableTarget, reference: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await target.documentClient.send(
    new GetCommand({ TableName: target.tableNames.events, Key: { event_id: largeRequestId(reference) } }),
  );
  return Item;
}

export function formatRequest(reference: string, tracker: Record<string, unknown> | undefined): string {
  if (!tracker) return `Request ${reference}: nothing received with this terra-reference yet`;
  const received = (tracker.received_payloads as Set<string> | undefined)?.size ?? 0;
  const expected = tracker.expected_payloads as number | undefined;
  const state =
    expected === undefined
      ? 'large_request_sending not received (expected count unknown)'
      : received >= expected
        ? 'complete'
        : `waiting for ${expected - received} more`;
  return [
    `Request ${reference} (terra-events ${String(tracker.event_id)})`,
    table([
      ['  user_id', text(tracker.user_id)],
      ['  expected_payloads', text(expected)],
      ['  received_payloads', String(received)],
      ['  state', state],
      ['  first seen', text(tracker.received_at)],
      ['  last update', text(tracker.updated_at)],
    ]),
  ].join('\n');
}

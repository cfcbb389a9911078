import { GetCommand, paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import { largeRequestId } from '../../lambdas/consumer/items';
import { dataAttributes as data, eventAttributes as event, userAttributes as users } from '../../lambdas/shared/attributes';
import { payloadStorage, readRecord } from '../../lambdas/shared/record-payload';
import { eventItemKey, readEventItem, readRecordItem, userItemKey } from '../../lambdas/shared/table-items';
import type { TableTarget } from './tables';

/** `npm run inspect`: one user's connection state and records, as a person reads them. */

/** What a person reads of a terra-users item, in this order (`inspect` and `doctor` alike). */
export const connectionFields = [
  users.provider,
  users.referenceId,
  users.status,
  users.active,
  users.scopes,
  users.lastEventType,
  users.updatedAt,
  users.replacedBy,
  users.replaces,
  users.scopesAdded,
  users.scopesRemoved,
];

export interface UserReport {
  user?: Record<string, unknown>;
  records: Record<string, unknown>[];
  /** The records' payloads, read whichever way they were kept. */
  payloads: unknown[];
}

export async function loadUser(target: TableTarget, userId: string, type?: string): Promise<UserReport> {
  const { documentClient: db, tableNames } = target;
  const { Item: user } = await db.send(new GetCommand({ TableName: tableNames.users, Key: userItemKey(userId) }));
  const records: Record<string, unknown>[] = [];
  const pages = paginateQuery(
    { client: db },
    {
      TableName: tableNames.data,
      KeyConditionExpression: type ? '#user_id = :user AND begins_with(#record_id, :type)' : '#user_id = :user',
      ExpressionAttributeNames: { '#user_id': data.userId, ...(type && { '#record_id': data.recordId }) },
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
    {
      TableName: target.tableNames.events,
      ProjectionExpression: '#outcome, #type',
      ExpressionAttributeNames: { '#outcome': event.outcome, '#type': event.type },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const { outcome, type } = readEventItem(item);
      const key = `${outcome} (${type})`;
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
    out.push(table(connectionFields.filter((field) => user[field] !== undefined).map((field) => [`  ${field}`, text(user[field])])));
  } else {
    out.push('Connection (terra-users): no connection event received for this user yet');
  }
  out.push('', `Records (terra-data): ${records.length}`);
  if (records.length > 0) {
    const rows = [
      [`  ${data.recordId}`, data.provider, data.startTime, data.endTime, 'samples', 'stored as', data.orderingTs, data.receivedAt],
    ];
    for (const [index, item] of records.entries()) {
      const record = readRecordItem(item);
      rows.push([
        `  ${record.recordId}`,
        text(record.provider),
        text(record.startTime),
        text(record.endTime),
        sampleCount(payloads[index]),
        payloadStorage(item),
        new Date(record.orderingTs).toISOString(),
        record.receivedAt,
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
    new GetCommand({ TableName: target.tableNames.events, Key: eventItemKey(largeRequestId(reference)) }),
  );
  return Item;
}

export function formatRequest(reference: string, tracker: Record<string, unknown> | undefined): string {
  if (!tracker) return `Request ${reference}: nothing received with this terra-reference yet`;
  const request = readEventItem(tracker);
  const received = request.receivedPayloads;
  const expected = request.expectedPayloads;
  const state =
    expected === undefined
      ? 'large_request_sending not received (expected count unknown)'
      : received >= expected
        ? 'complete'
        : `waiting for ${expected - received} more`;
  return [
    `Request ${reference} (terra-events ${request.eventId})`,
    table([
      [`  ${event.userId}`, text(request.userId)],
      [`  ${event.expectedPayloads}`, text(expected)],
      [`  ${event.receivedPayloads}`, String(received)],
      ['  state', state],
      ['  first seen', text(request.receivedAt)],
      ['  last update', text(request.updatedAt)],
    ]),
  ].join('\n');
}

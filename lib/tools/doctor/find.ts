import type { SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, paginateQuery, paginateScan, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { largeRequestId } from '../../../lambdas/consumer/items';
import { recordTypes } from '../../../lambdas/consumer/record-identity';
import { connectionTypes } from '../../../lambdas/consumer/terra-schemas';
import { dataAttributes as data, eventAttributes as event, userAttributes as users } from '../../../lambdas/shared/attributes';
import { dataTable, eventsTable, usersTable } from '../../../lambdas/shared/definitions';
import { readEventItem, readRecordItem, readUserItem, userItemKey } from '../../../lambdas/shared/table-items';
import { loadRequest, loadUser } from '../inspect';
import type { TableTarget } from '../tables';
import { type DeadLetterQueue, peekDeadLetters } from './dead-letters';
import type { BackfillFact, ConnectionEvent, KeptEventFact, RecordSummary, UserFacts } from './facts';
import { archivedConnectionEvents, archivedDeliveries, hasArchivedDeliveries } from './history';

/**
 * Reads what the stack holds about one user, and finds the user an id names. Reads only: Get and
 * Query on the tables and their indexes, one filtered Scan of terra-events, S3 listings, and a
 * peek at the dead-letter queues that leaves every message in place.
 */

/** How an id given on the command line was found. */
export type Resolution =
  | { found: 'user_id' | 'reference_id' | 'records only'; userIds: string[] }
  | { found: 'backfill reference'; userIds: string[]; reference: string; tracker: Record<string, unknown> }
  | { found: 'nothing' };

const trackerPrefix = largeRequestId('');

/** A Terra user_id; else a reference_id (the app's own id, index `reference-id`); else a backfill's terra-reference; else a user seen only in terra-data or the archive. */
export async function resolveId(target: TableTarget, id: string): Promise<Resolution> {
  const { documentClient: db, tableNames } = target;
  const reference = id.startsWith(trackerPrefix) ? id.slice(trackerPrefix.length) : undefined;
  if (reference === undefined) {
    const { Item } = await db.send(new GetCommand({ TableName: tableNames.users, Key: userItemKey(id) }));
    if (Item) return { found: 'user_id', userIds: [id] };
    const connections: ReturnType<typeof readUserItem>[] = [];
    const pages = paginateQuery(
      { client: db },
      {
        TableName: tableNames.users,
        IndexName: usersTable.globalSecondaryIndexes[0].indexName,
        KeyConditionExpression: '#reference_id = :reference_id',
        ExpressionAttributeNames: { '#reference_id': users.referenceId },
        ExpressionAttributeValues: { ':reference_id': id },
      },
    );
    for await (const page of pages) connections.push(...(page.Items ?? []).map(readUserItem));
    if (connections.length > 0) {
      // One app user may have several connections (providers, or a reconnect): newest first.
      connections.sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? ''));
      return { found: 'reference_id', userIds: connections.map((user) => user.userId) };
    }
  }
  const tracker = await loadRequest(target, reference ?? id);
  if (tracker) {
    const { userId } = readEventItem(tracker);
    return { found: 'backfill reference', userIds: userId ? [userId] : [], reference: reference ?? id, tracker };
  }
  if (reference !== undefined) return { found: 'nothing' };
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: tableNames.data,
      KeyConditionExpression: '#user_id = :user',
      ExpressionAttributeNames: { '#user_id': data.userId },
      ExpressionAttributeValues: { ':user': id },
      Limit: 1,
    }),
  );
  if (Items.length > 0 || (await hasArchivedDeliveries(target, id))) return { found: 'records only', userIds: [id] };
  return { found: 'nothing' };
}

/** The newest record and the count of each type, from the index: summaries only, no payload read. */
async function recordSummaries(target: TableTarget, userId: string): Promise<RecordSummary[]> {
  const db = target.documentClient;
  const summaries = await Promise.all(
    recordTypes.map(async (type): Promise<RecordSummary | undefined> => {
      const query = {
        TableName: target.tableNames.data,
        IndexName: dataTable.globalSecondaryIndexes[0].indexName,
        KeyConditionExpression: '#user_type = :user_type',
        ExpressionAttributeNames: { '#user_type': data.userType },
        ExpressionAttributeValues: { ':user_type': `${userId}#${type}` },
      };
      const { Items: [newest] = [] } = await db.send(new QueryCommand({ ...query, ScanIndexForward: false, Limit: 1 }));
      if (!newest) return undefined;
      const record = readRecordItem(newest);
      let count = 0;
      for await (const page of paginateQuery({ client: db }, { ...query, Select: 'COUNT' })) count += page.Count ?? 0;
      return {
        type,
        count,
        newest: {
          recordId: record.recordId,
          startTime: String(record.startTime),
          ...(record.endTime !== undefined && { endTime: record.endTime }),
          receivedAt: record.receivedAt,
          ...(record.provider !== undefined && { provider: record.provider }),
        },
      };
    }),
  );
  return summaries.filter((summary): summary is RecordSummary => summary !== undefined);
}

const isConnectionType = (type: string) => (connectionTypes as readonly string[]).includes(type);

/**
 * The user's items in terra-events: kept events and backfill trackers. No index has user_id as a
 * key, so this is a Scan filtered on it (its cost is the table's size, not the user's share; kept
 * events are the rare deliveries, so the table stays small beside terra-data). It is also the only
 * way to see a reference's tracker before its announcement, which the outcome index leaves out.
 */
async function eventsOf(target: TableTarget, userId: string) {
  const kept: KeptEventFact[] = [];
  const backfills: BackfillFact[] = [];
  const names = [
    event.eventId,
    event.type,
    event.outcome,
    event.reason,
    event.receivedAt,
    event.updatedAt,
    event.reference,
    event.expectedPayloads,
    event.receivedPayloads,
    event.userId,
  ];
  const pages = paginateScan(
    { client: target.documentClient },
    {
      TableName: target.tableNames.events,
      FilterExpression: `#${event.userId} = :user_id`,
      ProjectionExpression: names.map((name) => `#${name}`).join(', '),
      ExpressionAttributeNames: Object.fromEntries(names.map((name) => [`#${name}`, name])),
      ExpressionAttributeValues: { ':user_id': userId },
    },
  );
  for await (const page of pages) {
    for (const item of (page.Items ?? []).map(readEventItem)) {
      const { eventId } = item;
      if (eventId.startsWith(trackerPrefix)) {
        backfills.push({
          reference: item.reference ?? eventId.slice(trackerPrefix.length),
          announced: item.outcome === 'tracking',
          ...(item.expectedPayloads !== undefined && { expected: item.expectedPayloads }),
          received: item.receivedPayloads,
          ...(item.receivedAt !== undefined && { firstSeen: item.receivedAt }),
          ...(item.updatedAt !== undefined && { updatedAt: item.updatedAt }),
        });
      } else {
        kept.push({
          eventId,
          type: String(item.type),
          outcome: String(item.outcome),
          ...(item.reason !== undefined && { reason: item.reason }),
          ...(item.receivedAt !== undefined && { receivedAt: item.receivedAt }),
        });
      }
    }
  }
  const newestFirst =
    <T>(at: (value: T) => string | undefined) =>
    (a: T, b: T) =>
      (at(b) ?? '').localeCompare(at(a) ?? '');
  kept.sort(newestFirst((event) => event.receivedAt));
  backfills.sort(newestFirst((backfill) => backfill.updatedAt ?? backfill.firstSeen));
  return { kept, backfills };
}

/** `ping_fetch_failed` since a date, stack-wide, counted on the outcome index. */
async function pingFailuresSince(target: TableTarget, since: string): Promise<number> {
  let count = 0;
  const pages = paginateQuery(
    { client: target.documentClient },
    {
      TableName: target.tableNames.events,
      IndexName: eventsTable.globalSecondaryIndexes[0].indexName,
      KeyConditionExpression: '#outcome = :outcome AND #received_at >= :since',
      ExpressionAttributeNames: { '#outcome': event.outcome, '#received_at': event.receivedAt },
      ExpressionAttributeValues: { ':outcome': 'ping_fetch_failed', ':since': since },
      Select: 'COUNT',
    },
  );
  for await (const page of pages) count += page.Count ?? 0;
  return count;
}

export const pingFailureDays = 14;

export interface GatherOptions {
  now: Date;
  /** Kept events listed, newest first (all are counted). */
  keptLimit: number;
  sqs: SQSClient;
  deadLetterQueues: DeadLetterQueue[];
  /** Dead-letter messages examined per queue at most. */
  deadLetterMax: number;
  /** Shared across users and queues. */
  claimChecks: { left: number };
  waitTimeSeconds: number;
}

export async function gatherFacts(target: TableTarget, userId: string, options: GatherOptions): Promise<UserFacts> {
  const since = new Date(options.now.getTime() - pingFailureDays * 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
  const [profile, records, events, archive, pingFailures] = await Promise.all([
    // The users item, and the athlete profile whose provider_user_id says which account is connected.
    loadUser(target, userId, 'athlete'),
    recordSummaries(target, userId),
    eventsOf(target, userId),
    archivedDeliveries(target, userId, options.now),
    pingFailuresSince(target, since),
  ]);
  // One queue after another: each peek hides that queue's messages for a moment.
  const deadLetters = [];
  for (const queue of options.deadLetterQueues) {
    deadLetters.push(
      await peekDeadLetters(options.sqs, queue, {
        userId,
        s3: target.s3,
        max: options.deadLetterMax,
        claimChecks: options.claimChecks,
        waitTimeSeconds: options.waitTimeSeconds,
      }),
    );
  }
  const stored = profile.records.map(readRecordItem);
  const athlete = stored.findIndex((record) => record.recordId === 'athlete#profile');
  const athletePayload = athlete >= 0 ? (profile.payloads[athlete] as { provider_user_id?: unknown } | undefined) : undefined;
  const connectionEvents = mergeConnectionEvents(
    await archivedConnectionEvents(target, archive),
    events.kept.filter((event) => isConnectionType(event.type)),
  );
  const byOutcome: Record<string, number> = {};
  for (const event of events.kept) byOutcome[event.outcome] = (byOutcome[event.outcome] ?? 0) + 1;
  return {
    userId,
    ...(profile.user && { user: profile.user }),
    archive,
    connectionEvents,
    records,
    ...(athlete >= 0 && {
      athlete: {
        ...(typeof athletePayload?.provider_user_id === 'string' && { providerUserId: athletePayload.provider_user_id }),
        ...(profile.records[athlete][data.receivedAt] !== undefined && { receivedAt: stored[athlete].receivedAt }),
      },
    }),
    kept: { events: events.kept.slice(0, options.keptLimit), total: events.kept.length, byOutcome },
    backfills: events.backfills,
    deadLetters,
    pingFailures: { count: pingFailures, since },
  };
}

/** Connection events from the archive (30 days) and from terra-events (should the consumer keep them there), once each, newest first. */
function mergeConnectionEvents(archived: ConnectionEvent[], kept: KeptEventFact[]): ConnectionEvent[] {
  const key = (type: string, at: string) => `${type}|${new Date(at).toISOString()}`;
  const seen = new Set(archived.map((event) => key(event.type, event.receivedAt)));
  const fromEvents = kept
    .filter((event) => event.receivedAt && !seen.has(key(event.type, event.receivedAt)))
    .map(
      (event): ConnectionEvent => ({
        type: event.type,
        receivedAt: event.receivedAt!,
        source: 'terra-events',
        ...(event.reason && { message: event.reason }),
      }),
    );
  return [...archived, ...fromEvents].sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));
}

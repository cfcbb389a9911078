import { HeadObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import { archiveIndexPrefix } from '../consumer/archive';
import { recordsPrefix } from '../consumer/records';
import { dataAttributes, eventAttributes, userAttributes } from '../shared/attributes';
import { payloadBucket } from '../shared/definitions';
import { parseS3Url, s3Url } from '../shared/s3-url';
import { dataItemKey, readEventItem, readRecordItem, userItemKey } from '../shared/table-items';
import { markedObject, pointersOf, type UserFootprint } from './places';

/**
 * Finds everything the stack holds about one user, reading only:
 * - terra-data: a Query on the user's partition (their items, with the S3 pointers they hold);
 * - terra-users: a Get of the user item;
 * - terra-events: a Scan filtered on `user_id`. No index has user_id as a key; the outcome
 *   index would need one Query per outcome and still miss the `large_request#…` trackers a data
 *   chunk creates before its announcement (they have no outcome). A Scan reads the whole table:
 *   its cost is the table's size (0.5 read unit per 4 KB, eventually consistent), not the user's
 *   share; kept events are the rare deliveries, so that table stays small beside terra-data;
 * - S3: `records/<user_id>/` listed, `archive-index/<user_id>/` listed (markers leading to the
 *   archived copies and claim-checked bodies), and the objects the items point to.
 */

export interface EraseDependencies {
  documentClient: DynamoDBDocumentClient;
  /** The consumer's names for the tables, so the consumer can pass its own dependencies. */
  tables: { data: string; users: string; events: string };
  s3: S3Client;
  /** The payload bucket. */
  bucket: string;
}

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
  }
  return keys;
}

async function exists(s3: S3Client, url: string): Promise<boolean> {
  const { bucket, key } = parseS3Url(url);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

async function findData(deps: EraseDependencies, userId: string) {
  const keys: UserFootprint['dataKeys'] = [];
  const pointers: string[] = [];
  const pages = paginateQuery(
    { client: deps.documentClient },
    {
      TableName: deps.tables.data,
      KeyConditionExpression: '#user_id = :user_id',
      // Keys and pointers only: the payloads themselves are not read.
      ProjectionExpression: '#user_id, #record_id, #payload_s3, #fit_s3',
      ExpressionAttributeNames: {
        '#user_id': dataAttributes.userId,
        '#record_id': dataAttributes.recordId,
        '#payload_s3': dataAttributes.payloadS3,
        '#fit_s3': dataAttributes.fitS3,
      },
      ExpressionAttributeValues: { ':user_id': userId },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const stored = readRecordItem(item);
      keys.push(dataItemKey(stored.userId, stored.recordId));
      pointers.push(...pointersOf(item, [dataAttributes.payloadS3, dataAttributes.fitS3]));
    }
  }
  return { keys, pointers };
}

async function findEvents(deps: EraseDependencies, userId: string) {
  const ids: string[] = [];
  const pointers: string[] = [];
  let scanned = 0;
  const pages = paginateScan(
    { client: deps.documentClient },
    {
      TableName: deps.tables.events,
      FilterExpression: '#user_id = :user_id',
      ProjectionExpression: '#event_id, #body_s3',
      ExpressionAttributeNames: {
        '#user_id': eventAttributes.userId,
        '#event_id': eventAttributes.eventId,
        '#body_s3': eventAttributes.bodyS3,
      },
      ExpressionAttributeValues: { ':user_id': userId },
    },
  );
  for await (const page of pages) {
    scanned += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      ids.push(readEventItem(item).eventId);
      pointers.push(...pointersOf(item, [eventAttributes.bodyS3]));
    }
  }
  return { ids, pointers, scanned };
}

async function findArchive(deps: EraseDependencies, userId: string) {
  const prefix = archiveIndexPrefix(userId);
  const markers = await listKeys(deps.s3, deps.bucket, prefix);
  const archived: string[] = [];
  const claimChecks: string[] = [];
  for (const marker of markers) {
    const key = markedObject(marker, prefix);
    if (key === undefined) continue;
    (key.startsWith(payloadBucket.prefixes.deliveries) ? claimChecks : archived).push(s3Url(deps.bucket, key));
  }
  // A claim-checked body expires after deliveriesRetentionDays, its marker with the archive:
  // only the ones still there are counted (and deleted).
  const present = await Promise.all(claimChecks.map(async (url) => ((await exists(deps.s3, url)) ? url : undefined)));
  return { markers: markers.map((key) => s3Url(deps.bucket, key)), objects: [...archived, ...present.filter((url) => url !== undefined)] };
}

export async function findUser(deps: EraseDependencies, userId: string): Promise<UserFootprint> {
  if (userId === '') throw new Error('a user id is needed');
  const [data, user, events, records, archive] = await Promise.all([
    findData(deps, userId),
    deps.documentClient.send(
      new GetCommand({
        TableName: deps.tables.users,
        Key: userItemKey(userId),
        ConsistentRead: true,
        // The name itself, no placeholder: user_id is no reserved word.
        ProjectionExpression: userAttributes.userId,
      }),
    ),
    findEvents(deps, userId),
    // The id is encoded in the prefix, so one user's listing never reaches into another's.
    listKeys(deps.s3, deps.bucket, recordsPrefix(userId)),
    findArchive(deps, userId),
  ]);
  const objects = new Set([...data.pointers, ...records.map((key) => s3Url(deps.bucket, key)), ...events.pointers, ...archive.objects]);
  return {
    userId,
    dataKeys: data.keys,
    user: user.Item !== undefined,
    eventIds: events.ids,
    eventsScanned: events.scanned,
    objects: [...objects],
    markers: archive.markers,
  };
}

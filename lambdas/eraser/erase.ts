import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { BatchWriteCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { parseS3Url } from '../shared/s3-url';
import { eventItemKey, userItemKey } from '../shared/table-items';
import { type EraseDependencies, findUser } from './find';
import { countPlaces, deleteBatches, type PlaceCounts, type UserFootprint } from './places';

/**
 * Erases one Terra user (a user who asked to be forgotten): finds their footprint (find.ts),
 * then deletes it in an order that survives an interruption: the objects first, while the items
 * and markers that lead to them still exist; then the table items; the index markers last.
 * A second run finds what the first left, or nothing.
 *
 * Takes its clients as parameters: the CLI (lib/tools/erase) and the eraser function (erase on
 * deauth, handler.ts) run the same code.
 */

export type { EraseDependencies } from './find';

export interface EraseResult {
  footprint: UserFootprint;
  /** Per place: what was found (dry run) or deleted. */
  counts: PlaceCounts;
  dryRun: boolean;
  /** Objects outside the payload bucket that were found but left (see EraseOptions.payloadBucketOnly). */
  left: string[];
}

export interface EraseOptions {
  dryRun: boolean;
  /**
   * Delete only in the payload bucket. The eraser function may delete nothing else; what an item
   * points to elsewhere (a FIT file in Terra's S3 destination bucket) expires with that bucket's
   * lifecycle, and is reported as left.
   */
  payloadBucketOnly?: boolean;
}

// BatchWriteItem takes 25 requests; what DynamoDB leaves unprocessed (throttling) is sent again.
const batchWriteSize = 25;
const maxUnprocessedRounds = 8;

async function deleteItems(deps: EraseDependencies, table: string, keys: Record<string, string>[]): Promise<void> {
  for (let start = 0; start < keys.length; start += batchWriteSize) {
    let requests = keys.slice(start, start + batchWriteSize).map((Key) => ({ DeleteRequest: { Key } }));
    for (let round = 0; requests.length > 0; round++) {
      if (round === maxUnprocessedRounds) throw new Error(`${table}: ${requests.length} deletes still unprocessed after ${round} tries`);
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
      const { UnprocessedItems } = await deps.documentClient.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      requests = (UnprocessedItems?.[table] ?? []) as typeof requests;
    }
  }
}

async function deleteObjects(deps: EraseDependencies, urls: readonly string[]): Promise<void> {
  for (const { bucket, keys } of deleteBatches(urls)) {
    const { Errors = [] } = await deps.s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
    );
    if (Errors.length > 0) {
      const first = Errors.slice(0, 3).map((error) => `${error.Key}: ${error.Code} ${error.Message ?? ''}`.trim());
      throw new Error(`s3://${bucket}: ${Errors.length} of ${keys.length} objects not deleted (${first.join('; ')})`);
    }
  }
}

export async function eraseUser(deps: EraseDependencies, userId: string, options: EraseOptions): Promise<EraseResult> {
  const found = await findUser(deps, userId);
  const inPayloadBucket = (url: string) => parseS3Url(url).bucket === deps.bucket;
  const left = options.payloadBucketOnly ? found.objects.filter((url) => !inPayloadBucket(url)) : [];
  const footprint = options.payloadBucketOnly ? { ...found, objects: found.objects.filter(inPayloadBucket) } : found;
  const counts = countPlaces(footprint, deps.bucket);
  if (options.dryRun) return { footprint, counts, dryRun: true, left };
  await deleteObjects(deps, footprint.objects);
  await deleteItems(deps, deps.tables.data, footprint.dataKeys);
  await deleteItems(
    deps,
    deps.tables.events,
    footprint.eventIds.map((eventId) => eventItemKey(eventId)),
  );
  if (footprint.user) await deps.documentClient.send(new DeleteCommand({ TableName: deps.tables.users, Key: userItemKey(userId) }));
  await deleteObjects(deps, footprint.markers);
  return { footprint, counts, dryRun: false, left };
}

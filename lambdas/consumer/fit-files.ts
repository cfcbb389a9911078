import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { destinations, limits } from '../shared/definitions';
import { getObject, s3Url } from '../shared/s3';
import { conditionally } from './dynamodb-writes';
import type { ConsumerDependencies } from './process';
import { routeBody } from './route';

/**
 * Terra's S3 destination may upload an activity's raw FIT file beside its JSON, under the same
 * name (`…/activity/<user_id>-<start_time>.fit` beside `….json`, terra-contract.md §10). The file
 * stays where Terra put it; the activity's item points at it (`fit_s3`). The two objects arrive
 * in either order, so each side tries the link: the FIT file when it arrives (if the activity is
 * stored by then), and the activity's JSON after it is stored (if the FIT file is there by then).
 * Whichever comes second finds the other.
 */

export interface FitLink {
  /** The FIT file, `s3://bucket/key`. */
  file: string;
  /**
   * `linked`; `no_json`: no `<name>.json` beside it (left alone); `not_stored`: the activity is
   * not stored yet (its JSON links it when processed); `not_an_activity`, `json_too_large`: the
   * JSON beside it is not an activity, or too large to read.
   */
  status: 'linked' | 'no_json' | 'not_stored' | 'not_an_activity' | 'json_too_large';
  linked: number;
  notLinked: number;
}

const jsonSuffix = '.json';

export function fitKeyOf(jsonKey: string): string | undefined {
  return jsonKey.endsWith(jsonSuffix) ? `${jsonKey.slice(0, -jsonSuffix.length)}${destinations.bucket.fitSuffix}` : undefined;
}

export function jsonKeyOf(fitKey: string): string {
  return `${fitKey.slice(0, -destinations.bucket.fitSuffix.length)}${jsonSuffix}`;
}

/**
 * The object's size, or undefined when there is no such object (404: the consumer may list the
 * bucket, so S3 tells a missing key from a forbidden one; any other error is retried).
 */
async function sizeOf(s3: S3Client, bucket: string, key: string): Promise<number | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength ?? 0;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || ['NotFound', 'NoSuchKey'].includes((error as Error).name)) return undefined;
    throw error;
  }
}

/** Points every activity of the JSON at the FIT file; an activity not stored yet is left for later. */
async function linkActivities(deps: ConsumerDependencies, json: Buffer, file: string): Promise<FitLink> {
  const route = routeBody(json.toString('utf8'));
  if (route.kind !== 'data' || route.type !== 'activity') return { file, status: 'not_an_activity', linked: 0, notLinked: 0 };
  let linked = 0;
  for (const record of route.records) {
    const updated = await conditionally(() =>
      deps.documentClient.send(
        new UpdateCommand({
          TableName: deps.tables.data,
          Key: { user_id: route.user.user_id, record_id: record.recordId },
          UpdateExpression: 'SET #fit_s3 = :fit_s3',
          // Never creates an item: an activity with only a FIT file and no record is not a record.
          ConditionExpression: 'attribute_exists(#record_id)',
          ExpressionAttributeNames: { '#fit_s3': 'fit_s3', '#record_id': 'record_id' },
          ExpressionAttributeValues: { ':fit_s3': file },
        }),
      ),
    );
    if (updated) linked++;
  }
  const notLinked = route.records.length - linked;
  return { file, status: notLinked === 0 ? 'linked' : 'not_stored', linked, notLinked };
}

/** A FIT file arrived: link it to the activity of the same name, if that is stored. */
export async function linkFitFile(deps: ConsumerDependencies, bucket: string, fitKey: string): Promise<FitLink> {
  const file = s3Url(bucket, fitKey);
  const jsonKey = jsonKeyOf(fitKey);
  const size = await sizeOf(deps.s3!, bucket, jsonKey);
  if (size === undefined) return { file, status: 'no_json', linked: 0, notLinked: 0 };
  if (size > limits.pingMaxBytes) return { file, status: 'json_too_large', linked: 0, notLinked: 0 };
  return linkActivities(deps, (await getObject(deps.s3!, s3Url(bucket, jsonKey))).body, file);
}

/**
 * An activity's JSON was stored: link the FIT file beside it, if there is one. `json` is the body
 * when the caller holds it already. Undefined when there is no FIT file.
 */
export async function linkFitBeside(deps: ConsumerDependencies, bucket: string, jsonKey: string, json?: Buffer): Promise<FitLink | undefined> {
  const fitKey = fitKeyOf(jsonKey);
  if (fitKey === undefined || (await sizeOf(deps.s3!, bucket, fitKey)) === undefined) return undefined;
  const body = json ?? (await getObject(deps.s3!, s3Url(bucket, jsonKey))).body;
  return linkActivities(deps, body, s3Url(bucket, fitKey));
}

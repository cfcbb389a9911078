import { GetObjectCommand, type GetObjectCommandOutput, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { destinations, limits } from '../shared/definitions';
import { s3Url } from '../shared/s3-url';
import type { S3ObjectCreated } from './doors';
import { conditionally } from './dynamodb-writes';
import { fitLinkUpdate } from './items';
import type { ConsumerDependencies } from './process';
import { routeBody } from './route';

/**
 * Terra's S3 destination may upload an activity's raw FIT file beside its JSON, under the same
 * name (`…/activity/<user_id>-<start_time>.fit` beside `….json`, docs/terra.md §10). The file
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

/** The activities one JSON holds: the items a FIT file beside it is linked from. */
export interface StoredActivities {
  userId: string;
  recordIds: string[];
}

const jsonSuffix = '.json';

export function fitKeyOf(jsonKey: string): string | undefined {
  return jsonKey.endsWith(jsonSuffix) ? `${jsonKey.slice(0, -jsonSuffix.length)}${destinations.bucket.fitSuffix}` : undefined;
}

export function jsonKeyOf(fitKey: string): string {
  return `${fitKey.slice(0, -destinations.bucket.fitSuffix.length)}${jsonSuffix}`;
}

/**
 * 404: the consumer may list the bucket, so S3 tells a missing key from a forbidden one; any
 * other error is retried.
 */
function isMissing(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 404 || ['NotFound', 'NoSuchKey'].includes((error as Error).name);
}

async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

/**
 * One GET, no HEAD first: undefined when there is no such object, `too_large` when it is larger
 * than the consumer reads whole (its body is then dropped unread).
 */
async function readJson(s3: S3Client, bucket: string, key: string, versionId?: string): Promise<Buffer | 'too_large' | undefined> {
  let response: GetObjectCommandOutput;
  try {
    response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId !== undefined && { VersionId: versionId }) }));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  if ((response.ContentLength ?? 0) > limits.pingMaxBytes) {
    // Destroying the stream closes the connection instead of downloading what would be refused.
    (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
    return 'too_large';
  }
  return Buffer.from(await response.Body!.transformToByteArray());
}

function activitiesIn(json: Buffer): StoredActivities | undefined {
  const route = routeBody(json.toString('utf8'));
  if (route.kind !== 'data' || route.type !== 'activity') return undefined;
  return { userId: route.user.user_id, recordIds: route.records.map((record) => record.recordId) };
}

/** Points every activity at the FIT file; an activity not stored yet is left for later. */
async function linkActivities(deps: ConsumerDependencies, activities: StoredActivities, file: string): Promise<FitLink> {
  let linked = 0;
  for (const recordId of activities.recordIds) {
    const updated = await conditionally(() =>
      deps.documentClient.send(new UpdateCommand(fitLinkUpdate(deps.tables.data, activities.userId, recordId, file))),
    );
    if (updated) linked++;
  }
  const notLinked = activities.recordIds.length - linked;
  return { file, status: notLinked === 0 ? 'linked' : 'not_stored', linked, notLinked };
}

/** A FIT file arrived: link it to the activity of the same name (its latest version), if that is stored. */
export async function linkFitFile(deps: ConsumerDependencies, bucket: string, fitKey: string): Promise<FitLink> {
  const file = s3Url(bucket, fitKey);
  const json = await readJson(deps.s3!, bucket, jsonKeyOf(fitKey));
  if (json === undefined) return { file, status: 'no_json', linked: 0, notLinked: 0 };
  if (json === 'too_large') return { file, status: 'json_too_large', linked: 0, notLinked: 0 };
  const activities = activitiesIn(json);
  if (!activities) return { file, status: 'not_an_activity', linked: 0, notLinked: 0 };
  return linkActivities(deps, activities, file);
}

/**
 * An activity's JSON was stored: link the FIT file beside it, if there is one (undefined when
 * not), to the records routing found in it.
 */
export async function linkFitBeside(
  deps: ConsumerDependencies,
  json: S3ObjectCreated,
  stored: StoredActivities,
): Promise<FitLink | undefined> {
  const fitKey = fitKeyOf(json.key);
  if (fitKey === undefined || !(await exists(deps.s3!, json.bucket, fitKey))) return undefined;
  return linkActivities(deps, stored, s3Url(json.bucket, fitKey));
}

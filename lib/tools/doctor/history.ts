import { ListObjectsV2Command, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { archiveIndexPrefix, parseArchiveKey } from '../../../lambdas/consumer/archive';
import { connectionTypes } from '../../../lambdas/consumer/terra-schemas';
import { payloadBucket } from '../../../lambdas/shared/definitions';
import { getObject } from '../../../lambdas/shared/s3';
import { s3Url } from '../../../lambdas/shared/s3-url';
import type { TableTarget } from '../tables';
import type { ArchiveFacts, ConnectionEvent } from './facts';

/**
 * A user's deliveries from the raw archive, which keeps every authenticated delivery for
 * `archiveRetentionDays` (30 by default): the only place connection events other than the latest
 * are kept (terra-users holds the connection's latest state only). One user's share is listed
 * through its index markers, `archive-index/<user_id>/<YYYY/MM/DD/HH>/<received>_<type>_<user>_<sha>`,
 * whose names alone say when and what: no object is read for the listing.
 */

/** Enough for a user sending a CGM reading every five minutes, and much more, for a month. */
const maxListPages = 50;

/** Bodies of the newest connection events read for their status and message. */
export const connectionBodiesRead = 10;

const isConnectionType = (type: string) => (connectionTypes as readonly string[]).includes(type);

export async function archivedDeliveries(target: TableTarget, userId: string, now: Date): Promise<ArchiveFacts> {
  const prefix = archiveIndexPrefix(userId);
  const since = new Date(now.getTime() - payloadBucket.archiveRetentionDays * 24 * 60 * 60 * 1000);
  // Markers sort by arrival: start at the retention's first day, past what has expired anyway.
  const startAfter = `${prefix}${since.toISOString().slice(0, 10).replace(/-/g, '/')}`;
  const facts: ArchiveFacts = { available: true, since: since.toISOString().slice(0, 10), deliveries: [], truncated: false };
  try {
    let pages = 0;
    for await (const page of paginateListObjectsV2(
      { client: target.s3 },
      { Bucket: target.bucket, Prefix: prefix, StartAfter: startAfter },
    )) {
      for (const object of page.Contents ?? []) {
        // Claim-check markers (`…/deliveries/…`) do not parse: the archived copy has its own marker.
        const parsed = object.Key ? parseArchiveKey(object.Key) : undefined;
        if (!parsed) continue;
        const key = `${payloadBucket.prefixes.archive}${object.Key!.slice(prefix.length)}`;
        facts.deliveries.push({ type: parsed.type, receivedAt: parsed.receivedAt.toISOString(), key });
      }
      if (++pages >= maxListPages && page.IsTruncated) {
        facts.truncated = true;
        break;
      }
    }
  } catch (error) {
    return { ...facts, available: false, note: `the archive index could not be listed: ${(error as Error).message}` };
  }
  facts.deliveries.reverse();
  if (facts.deliveries.length === 0) {
    facts.note = 'no delivery of this user in the archive index (none in the retention period, or a stack older than the index markers)';
  }
  return facts;
}

/** Whether the archive index holds anything of this user: a user seen only through deliveries. */
export async function hasArchivedDeliveries(target: TableTarget, userId: string): Promise<boolean> {
  const { KeyCount } = await target.s3.send(
    new ListObjectsV2Command({ Bucket: target.bucket, Prefix: archiveIndexPrefix(userId), MaxKeys: 1 }),
  );
  return (KeyCount ?? 0) > 0;
}

const textOf = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);

/** What a connection event's body says: Terra's `status`, `message`, a failed auth's `reason`, a permission change's scopes. */
export function describeConnectionBody(body: Record<string, unknown>): Pick<ConnectionEvent, 'status' | 'message'> {
  const parts = [
    textOf(body.message),
    textOf(body.reason) && `reason: ${textOf(body.reason)}`,
    textOf(body.scopes_added) && `scopes added: ${textOf(body.scopes_added)}`,
    textOf(body.scopes_removed) && `scopes removed: ${textOf(body.scopes_removed)}`,
  ].filter(Boolean);
  return { status: textOf(body.status), ...(parts.length > 0 && { message: parts.join('; ') }) };
}

/** The user's connection events among the archived deliveries, newest first; the newest are read for what they said. */
export async function archivedConnectionEvents(target: TableTarget, archive: ArchiveFacts): Promise<ConnectionEvent[]> {
  const events = archive.deliveries.filter((delivery) => isConnectionType(delivery.type));
  return Promise.all(
    events.map(async (delivery, index): Promise<ConnectionEvent> => {
      const event: ConnectionEvent = { type: delivery.type, receivedAt: delivery.receivedAt, source: 'archive' };
      if (index >= connectionBodiesRead) return event;
      try {
        const body = JSON.parse((await getObject(target.s3, s3Url(target.bucket, delivery.key))).body.toString('utf8'));
        return { ...event, ...describeConnectionBody(body) };
      } catch {
        // Expired or unreadable: the type and time from the marker still stand.
        return event;
      }
    }),
  );
}

import type { S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { eventAttributes } from '../shared/attributes';
import { erasure, payloadBucket, queueSettings } from '../shared/definitions';
import type { QueuedDelivery } from '../shared/delivery';
import { getObject, putObject } from '../shared/s3';
import { s3Url } from '../shared/s3-url';
import { archiveDelivery, isArchived } from './archive';
import { allSettled, conditionally, isItemRejected, mapLimit } from './dynamodb-writes';
import { type DeliveryContext, deliveryContext } from './delivery-context';
import {
  type EventBodyAttributes,
  eventId,
  eventPut,
  inlineEventBody,
  type KeptEvent,
  largeRequestAnnounced,
  largeRequestReceived,
  userUpdate,
} from './items';
import { type PingFetch, PingOutOfTime } from './ping';
import { downloadPing, nextPingTry, pingExpiresAt, type PrefetchedPing } from './ping-prefetch';
import { writeRecord } from './records';
import { type EventOutcome, type Route, routeBody } from './route';
import { describeIssues, isDataType, largeRequestEvent, s3PayloadEvent } from './terra-schemas';

export interface TableNames {
  data: string;
  users: string;
  events: string;
}

export interface ConsumerDependencies {
  documentClient: DynamoDBDocumentClient;
  tables: TableNames;
  /** Records whose JSON is larger are stored gzipped, not as a map (RECORD_MAP_MAX_BYTES); defaults.recordMapMaxBytes unless given. */
  recordMapMaxBytes?: number;
  /** The payload bucket: claim-checked bodies, the raw archive, records too large for an item. */
  s3?: S3Client;
  bucket?: string;
  fetch?: typeof fetch;
  now?: () => number;
  /** Deliveries are retried this many times before the dead-letter queue; the last try keeps what it can. */
  maxReceiveCount?: number;
  /**
   * Time left for Ping downloads in this invocation: its remaining time less what the writes need
   * (batch.ts). Without it (tools, replay) a download is bounded only by its own timeout.
   */
  pingTimeLeftMs?: () => number;
  /** This message's Ping download, started with its batch (ping-prefetch.ts): its first try. */
  prefetched?: PrefetchedPing;
  /**
   * Erase on deauth (erase-request.ts): asks for the user to be erased after a `deauth` or
   * `access_revoked`. Absent unless the stack's `eraseOnDeauth` is on.
   */
  requestErase?: (userId: string, trigger: string) => Promise<void>;
  /**
   * Called for every Ping-mode download that did not bring the payload: a failed try, or one the
   * invocation had no time left to start, whether the message is then retried, handed back or kept
   * as ping_fetch_failed (the PingDownloadFailures metric).
   */
  pingDownloadFailed?: (reason: string) => void;
}

/** What one delivery became; the handler turns it into log lines and metrics. */
export interface DeliveryOutcome {
  route: Route['kind'];
  type: string;
  /**
   * Set when (part of) the delivery was kept in terra-events: recorded, unknown_type, invalid,
   * unparseable, rejected_by_storage, ping_fetch_failed, too_large. Counted as EventsKept by outcome.
   */
  outcome?: string;
  /** Why it was kept, as stored on the terra-events item; set with `outcome`. */
  reason?: string;
  /** Data routes: the user and the record ids routing found (the S3 door links a FIT file by them). */
  stored?: { userId: string; recordIds: string[] };
  /** Items written because they were new or newer. */
  written: number;
  /** Items left alone because the stored copy was as new or newer (repeats, late copies). */
  skipped: number;
  /** Set when the event came by Ping mode (`s3_payload`). */
  ping?: boolean;
  /** The Terra user the delivery is about, once routing found one (a log key). */
  userId?: string;
  /**
   * Bytes of the delivery's body once resolved: read from S3 for a claim check or an S3
   * destination object, downloaded for a Ping (the PayloadBytes metric). Unset when there was no
   * body to read (a Ping whose download failed, an object too large to read).
   */
  payloadBytes?: number;
}

const isErasureTrigger = (type: string) => (erasure.triggers as readonly string[]).includes(type);

// Writes of one delivery run side by side, a few at a time, to stay well within a table's
// per-partition throughput (one user's records share a partition).
const writeConcurrency = 8;

/** A kept body too large for an item goes to S3, under a prefix that never expires: kept is kept. */
async function eventBodyAttributes(deps: ConsumerDependencies, body: Buffer, context: DeliveryContext): Promise<EventBodyAttributes> {
  const inline = inlineEventBody(body);
  if (inline) return inline;
  if (!deps.s3 || !deps.bucket) throw new Error(`a kept body of ${body.length} bytes needs S3 but no bucket is configured`);
  const url = s3Url(deps.bucket, `${payloadBucket.prefixes.events}${context.bodySha256}`);
  await putObject(deps.s3, url, body);
  return { [eventAttributes.bodyS3]: url };
}

/** Keeps a body in terra-events with its outcome and reason (in S3 when too large for an item). */
export async function keep(deps: ConsumerDependencies, event: KeptEvent, body: Buffer, context: DeliveryContext): Promise<DeliveryOutcome> {
  const attributes = await eventBodyAttributes(deps, body, context);
  const written = await conditionally(() =>
    deps.documentClient.send(new PutCommand(eventPut(deps.tables.events, event, body, context, attributes))),
  );
  return {
    route: 'event',
    type: event.type,
    outcome: event.outcome,
    reason: event.reason,
    ...(event.userId !== undefined && { userId: event.userId }),
    written: written ? 1 : 0,
    skipped: written ? 0 : 1,
  };
}

/** One more payload of a large request: counted only for a request Terra announced as large. */
async function countForRequest(deps: ConsumerDependencies, context: DeliveryContext, userId: string): Promise<void> {
  if (!context.terraReference) return;
  try {
    await deps.documentClient.send(new UpdateCommand(largeRequestReceived(deps.tables.events, context.terraReference, context, userId)));
  } catch (error) {
    // A reference unusable as a key (too long, say) is not tracked; the delivery itself is kept.
    if (!isItemRejected(error)) throw error;
  }
}

async function store(deps: ConsumerDependencies, route: Route, body: Buffer, context: DeliveryContext): Promise<DeliveryOutcome> {
  const { documentClient: db, tables } = deps;
  switch (route.kind) {
    case 'data': {
      const rejected: string[] = [];
      const [results] = await allSettled([
        mapLimit(route.records, writeConcurrency, async (record) => {
          try {
            return await writeRecord(
              { documentClient: db, table: tables.data, s3: deps.s3, bucket: deps.bucket, mapMaxBytes: deps.recordMapMaxBytes },
              route.type,
              route.user,
              record,
              context,
            );
          } catch (error) {
            if (!isItemRejected(error)) throw error;
            rejected.push(`${record.recordId}: ${(error as Error).message}`);
            return false;
          }
        }),
        // The payload counts for its backfill whatever its records come to: beside them, not after.
        countForRequest(deps, context, route.user.user_id),
      ]);
      const written = results.filter(Boolean).length;
      // The records that could be stored are; the delivery is kept whole, with the reason, for
      // the ones that could not: refused for a missing identifier, or refused by DynamoDB.
      const reasons: string[] = [];
      if (rejected.length > 0)
        reasons.push(`DynamoDB refused ${rejected.length} of ${results.length} records: ${rejected.slice(0, 3).join('; ')}`);
      if (route.refused) reasons.push(route.refused.reason);
      const outcome: EventOutcome | undefined = rejected.length > 0 ? 'rejected_by_storage' : route.refused ? 'invalid' : undefined;
      const reason = reasons.join('; ');
      if (outcome) await keep(deps, { type: route.type, outcome, reason, userId: route.user.user_id }, body, context);
      return {
        route: 'data',
        type: route.type,
        ...(outcome && { outcome, reason }),
        userId: route.user.user_id,
        written,
        skipped: results.length - written - rejected.length,
        stored: { userId: route.user.user_id, recordIds: route.records.map((record) => record.recordId) },
      };
    }
    case 'connection': {
      // The old user of a user_reauth is written after the new one, so "replaced_by" always
      // points at a user that exists.
      let written = 0;
      try {
        for (const change of route.changes) {
          if (await conditionally(() => db.send(new UpdateCommand(userUpdate(tables.users, route.type, change, context))))) written++;
        }
      } catch (error) {
        if (!isItemRejected(error)) throw error;
        const reason = `DynamoDB refused the user state: ${(error as Error).message}`;
        return keep(deps, { type: route.type, outcome: 'rejected_by_storage', reason, userId: route.changes[0]?.userId }, body, context);
      }
      if (deps.requestErase && isErasureTrigger(route.type)) {
        // Asked even when the change was a repeat: the first try may have stored it and then failed
        // to ask. A second request for the same user finds nothing left to erase.
        for (const change of route.changes) await deps.requestErase(change.userId, route.type);
      }
      const userId = route.changes[0]?.userId;
      return {
        route: 'connection',
        type: route.type,
        ...(userId !== undefined && { userId }),
        written,
        skipped: route.changes.length - written,
      };
    }
    case 'event': {
      // A chunk with no records (or refused ones) is still one of the payloads Terra announced.
      if (isDataType(route.type) && route.userId) await countForRequest(deps, context, route.userId);
      if (route.type === 'large_request_processing' || route.type === 'large_request_sending') {
        const announced = largeRequestEvent.safeParse(JSON.parse(body.toString('utf8')));
        if (announced.success) {
          const { reference, expected_payloads: expected, user } = announced.data;
          try {
            await db.send(
              new UpdateCommand(largeRequestAnnounced(tables.events, reference, context, user?.user_id, expected ?? undefined)),
            );
          } catch (error) {
            // An unusable reference (too long for a key, say) still leaves the event itself kept.
            if (!isItemRejected(error)) throw error;
          }
        }
      }
      return keep(deps, route, body, context);
    }
  }
}

/** Every failed try, counted as it happens: the message may then throw, and its outcome never return. */
function counted(deps: ConsumerDependencies, fetched: PingFetch): PingFetch {
  if (!fetched.ok) deps.pingDownloadFailed?.(fetched.reason);
  return fetched;
}

async function archive(deps: ConsumerDependencies, body: Buffer, context: DeliveryContext, route: Route) {
  if (!deps.s3 || !deps.bucket) return;
  const userId = route.kind === 'data' ? route.user.user_id : route.kind === 'event' ? route.userId : route.changes[0]?.userId;
  await archiveDelivery(deps.s3, deps.bucket, body, context, context.bodySha256, route.type, userId);
}

/** Pauses before the second and third try; each is taken only if the invocation leaves time for it. */
const pingRetryPausesMs = [1_000, 3_000];

const pingTimeLeftMs = (deps: ConsumerDependencies) => deps.pingTimeLeftMs?.() ?? Infinity;

const download = (deps: ConsumerDependencies, url: string) =>
  downloadPing(url, { fetch: deps.fetch ?? fetch, timeLeftMs: pingTimeLeftMs(deps) });

/** Ping mode: fetch the full event and process it exactly like a pushed one. */
async function processPing(deps: ConsumerDependencies, body: Buffer, context: DeliveryContext, attempt: number): Promise<DeliveryOutcome> {
  const parsed = s3PayloadEvent.safeParse(JSON.parse(body.toString('utf8')));
  if (!parsed.success) {
    return keep(deps, { type: 's3_payload', outcome: 'invalid', reason: describeIssues(parsed.error) }, body, context);
  }
  const now = deps.now ?? Date.now;
  const { url } = parsed.data;
  const expiresAt = pingExpiresAt(context.receivedAt, parsed.data.expires_in);
  let fetched = counted(deps, await (deps.prefetched?.url === url ? deps.prefetched.download : download(deps, url)));
  // The URL will have expired long before SQS redelivers (visibility timeout): retry here first,
  // while the URL and the invocation leave time for it.
  for (const pause of pingRetryPausesMs) {
    if (fetched.ok || fetched.permanent || fetched.outOfTime) break;
    const next = nextPingTry({ now: now(), expiresAt, timeLeftMs: pingTimeLeftMs(deps), pauseMs: pause });
    if (next === 'expired') break;
    if (next === 'out_of_time') {
      fetched = { ...fetched, outOfTime: true };
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    fetched = counted(deps, await download(deps, url));
  }
  if (!fetched.ok) {
    // Not kept: the next invocation has the time. batch.ts hands the message back at once, even
    // on its last receive (SQS then moves it to the dead-letter queue, for a redrive).
    if (fetched.outOfTime) throw new PingOutOfTime(`Ping-mode ${fetched.reason}`);
    const lastTry = attempt >= (deps.maxReceiveCount ?? queueSettings.maxReceiveCount);
    if (!fetched.permanent && now() < expiresAt && !lastTry) throw new Error(`Ping-mode ${fetched.reason}; will retry`);
    return keep(deps, { type: 's3_payload', outcome: 'ping_fetch_failed', reason: fetched.reason }, body, context);
  }
  const pinged: DeliveryContext = { ...context, bodySha256: eventId(fetched.body) };
  const route = routeBody(fetched.body.toString('utf8'));
  const payloadBytes = fetched.body.length;
  if (route.kind === 'event' && route.type === 's3_payload') {
    const reason = 'Ping-mode payload is itself an s3_payload';
    const [, kept] = await allSettled([
      archive(deps, fetched.body, pinged, route),
      keep(deps, { type: 's3_payload', outcome: 'invalid', reason }, fetched.body, pinged),
    ]);
    return { ...kept, payloadBytes };
  }
  const [, stored] = await allSettled([archive(deps, fetched.body, pinged, route), store(deps, route, fetched.body, pinged)]);
  return { ...stored, ping: true, payloadBytes };
}

/**
 * One delivery, from queue message to tables: fetch a claim-checked body, archive it, route it,
 * follow a Ping, store. Throws only on what a retry can fix (a service failing or throttling).
 * The archive and the stores are independent and each idempotent (a retry writes both again), so
 * they run side by side, and the delivery is done only when both are (allSettled).
 */
export async function processDelivery(queued: QueuedDelivery, deps: ConsumerDependencies, attempt = 1): Promise<DeliveryOutcome> {
  if (queued.bodyS3 && !deps.s3) throw new Error('the message points at S3 but the consumer has no S3 client');
  const body = queued.body ?? (await getObject(deps.s3!, queued.bodyS3!, queued.bodyS3VersionId)).body;
  const context = deliveryContext(queued, body);
  const route = routeBody(body.toString('utf8'));
  // A replayed delivery points into the archive already.
  const archived = isArchived(queued.bodyS3, deps.bucket) ? undefined : archive(deps, body, context, route);
  if (route.kind === 'event' && route.type === 's3_payload')
    return (await allSettled([archived, processPing(deps, body, context, attempt)]))[1];
  const [, stored] = await allSettled([archived, store(deps, route, body, context)]);
  return { ...stored, payloadBytes: body.length };
}

import { limits } from '../shared/definitions';
import type { Door } from './doors';
import { fetchPingPayload, type PingFetch } from './ping';

/**
 * Ping mode against the clock. A pre-signed URL expires within minutes, far sooner than SQS
 * redelivers a failed message (the visibility timeout, 6 × the Lambda timeout): so a batch starts
 * all its Ping downloads at once, every try is bounded by the time left in the invocation, and a
 * download the invocation had no time left for is handed back to the queue at once (batch.ts).
 */

/**
 * Time kept back from the downloads for what follows them: the writes of the batch's messages,
 * processed one at a time (a large payload's archive and record objects in S3, a few hundred
 * conditional writes), and the hand-back calls. 10 s is a sixth of the 60 s Lambda timeout
 * (consumerTimeoutSeconds): the downloads get the other 50 s, enough for three full tries
 * (limits.pingTimeoutMs) of one slow URL.
 */
export const pingWriteMarginMs = 10_000;

/** A try with less time than this is not started: it would only fail, and spend a receive. */
export const minimumPingTryMs = 1_000;

/** `expires_in` counts from when Terra sent the event; the arrival time is the closest we know. */
export function pingExpiresAt(receivedAt: string, expiresInSeconds: number | null | undefined): number {
  const received = Date.parse(receivedAt);
  if (expiresInSeconds == null || !Number.isFinite(received)) return Infinity;
  return received + expiresInSeconds * 1000;
}

/**
 * The URL a message asks the consumer to download, if it is a Ping: a webhook delivery or a
 * message of Terra's SQS destination whose inline body is an `s3_payload` event with a string
 * `url`. A claim-checked body (over 1 MiB) is never a Ping; an S3 destination object is read
 * from S3, not downloaded.
 */
export function pingUrlOf(door: Door): string | undefined {
  if (door.door !== 'webhook' && door.door !== 'sqs_destination') return undefined;
  const { body } = door.delivery;
  // Cheap test first: most messages are data events of up to 1 MiB.
  if (!body?.includes('s3_payload')) return undefined;
  let event: unknown;
  try {
    event = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof event !== 'object' || event === null) return undefined;
  const { type, url } = event as Record<string, unknown>;
  return type === 's3_payload' && typeof url === 'string' ? url : undefined;
}

/**
 * How long the next try may take: its own timeout, or the time left for downloads if that is
 * shorter; undefined when too little is left to start one. The URL's expiry does not cut a try
 * short: S3 checks a pre-signed URL when the request arrives, so a download that started in time
 * finishes even past the expiry, and breaking it off would only lose it.
 */
export function pingTryTimeoutMs(timeLeftMs: number, perTryMs: number = limits.pingTimeoutMs): number | undefined {
  const timeoutMs = Math.min(perTryMs, timeLeftMs);
  return timeoutMs >= minimumPingTryMs ? timeoutMs : undefined;
}

/** Whether a failed download is tried again in this invocation after `pauseMs`. */
export function nextPingTry(clock: {
  now: number;
  expiresAt: number;
  timeLeftMs: number;
  pauseMs: number;
}): 'retry' | 'expired' | 'out_of_time' {
  // A URL past its expiry answers 403 to every try.
  if (clock.now + clock.pauseMs > clock.expiresAt) return 'expired';
  return pingTryTimeoutMs(clock.timeLeftMs - clock.pauseMs) === undefined ? 'out_of_time' : 'retry';
}

export interface PingDownloadOptions {
  fetch: typeof fetch;
  /** Time left for downloads in this invocation (its remaining time less pingWriteMarginMs). */
  timeLeftMs: number;
  perTryMs?: number;
  maxBytes?: number;
}

/** One try, bounded by the invocation: a try the invocation cut short is `outOfTime`. */
export async function downloadPing(url: string, options: PingDownloadOptions): Promise<PingFetch> {
  const perTryMs = options.perTryMs ?? limits.pingTimeoutMs;
  const timeoutMs = pingTryTimeoutMs(options.timeLeftMs, perTryMs);
  if (timeoutMs === undefined) {
    return { ok: false, permanent: false, outOfTime: true, reason: 'download not started: no time left in this invocation' };
  }
  try {
    const fetched = await fetchPingPayload(url, { fetch: options.fetch, timeoutMs, maxBytes: options.maxBytes ?? limits.pingMaxBytes });
    if (!fetched.ok && fetched.timedOut && timeoutMs < perTryMs) {
      return { ...fetched, outOfTime: true, reason: `${fetched.reason} (the invocation's time ran out)` };
    }
    return fetched;
  } catch (error) {
    // fetchPingPayload answers every failure itself; this keeps a prefetch from ever rejecting
    // unobserved.
    return { ok: false, permanent: false, reason: `download failed: ${(error as Error).message}` };
  }
}

/** A download started with the batch, for the message whose body names `url`. */
export interface PrefetchedPing {
  url: string;
  download: Promise<PingFetch>;
}

/**
 * Starts the Ping downloads of a batch side by side, before its messages are processed one at a
 * time: a slow URL then costs the batch its own wait once, not once per message after it. A batch
 * holds at most queueSettings.batchSize (10) messages, each download is cut off at
 * limits.pingMaxBytes (64 MiB): at worst 640 MiB of bodies wait, beside the one payload being
 * parsed (several times its size), within consumerMemoryMb (1536). Each body is let go once its
 * message is processed; Terra's Ping payloads are mostly a few MB.
 */
export function prefetchPings(doors: ReadonlyMap<string, Door>, start: (url: string) => Promise<PingFetch>): Map<string, PrefetchedPing> {
  const prefetched = new Map<string, PrefetchedPing>();
  for (const [messageId, door] of doors) {
    const url = pingUrlOf(door);
    if (url !== undefined) prefetched.set(messageId, { url, download: start(url) });
  }
  return prefetched;
}

/**
 * Terra's Ping mode: an `s3_payload` event carries a pre-signed URL to the full event, which
 * expires within minutes. The consumer fetches it at once, with a timeout and a size guard.
 */

export type PingFetch =
  | { ok: true; body: Buffer }
  | {
      ok: false;
      permanent: boolean;
      reason: string;
      /** The try was cut off by its timeout (not refused, not broken off by the server). */
      timedOut?: boolean;
      /** The invocation had no time left to finish (or start) it: the next invocation will. */
      outOfTime?: boolean;
    };

export interface PingOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  maxBytes: number;
}

/**
 * A Ping download the invocation had no time left to finish. Not a failure of the download: the
 * batch handler hands the message back to the queue at once (batch.ts) instead of keeping it.
 */
export class PingOutOfTime extends Error {
  override name = 'PingOutOfTime';
}

async function readLimited(response: Response, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
}

/** Why a URL can never be downloaded, or undefined if it may be. */
function unusableUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL itself is not repeated: a pre-signed URL carries a signature.
    return 'the url is not a valid URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return `the url's scheme ${parsed.protocol} cannot be downloaded`;
  return undefined;
}

export async function fetchPingPayload(url: string, { fetch, timeoutMs, maxBytes }: PingOptions): Promise<PingFetch> {
  // No try can fix an unusable URL: kept as ping_fetch_failed at once.
  const unusable = unusableUrl(url);
  if (unusable) return { ok: false, permanent: true, reason: `download impossible: ${unusable}` };
  let response: Response;
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = () => signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError';
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    return { ok: false, permanent: false, reason: `download failed: ${(error as Error).message}`, ...(timedOut() && { timedOut: true }) };
  }
  if (!response.ok) {
    // 4xx: expired, forbidden or gone; asking again will not help. 5xx may pass.
    await response.body?.cancel();
    return { ok: false, permanent: response.status < 500, reason: `download answered HTTP ${response.status}` };
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    return { ok: false, permanent: true, reason: `payload of ${declared} bytes exceeds the ${maxBytes}-byte limit` };
  }
  try {
    const body = await readLimited(response, maxBytes);
    if (!body) return { ok: false, permanent: true, reason: `payload exceeds the ${maxBytes}-byte limit` };
    return { ok: true, body };
  } catch (error) {
    return {
      ok: false,
      permanent: false,
      reason: `download interrupted: ${(error as Error).message}`,
      ...(timedOut() && { timedOut: true }),
    };
  }
}

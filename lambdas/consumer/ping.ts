/**
 * Terra's Ping mode: an `s3_payload` event carries a pre-signed URL to the full event, which
 * expires within minutes. The consumer fetches it at once, with a timeout and a size guard.
 */

export type PingFetch =
  | { ok: true; body: Buffer }
  | { ok: false; permanent: boolean; reason: string };

export interface PingOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  maxBytes: number;
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

export async function fetchPingPayload(url: string, { fetch, timeoutMs, maxBytes }: PingOptions): Promise<PingFetch> {
  let response: Response;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    return { ok: false, permanent: false, reason: `download failed: ${(error as Error).message}` };
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
    return { ok: false, permanent: false, reason: `download interrupted: ${(error as Error).message}` };
  }
}

import { terraApi } from '../../../lambdas/shared/definitions';

/**
 * A client of Terra's REST API for history (docs/terra.md §7): `GET /<type>` and
 * `GET /athlete` with the `dev-id` and `x-api-key` headers. It retries what Terra asks to be
 * retried (429 and 5xx, and a request that got no answer), waiting as long as `Retry-After` or
 * `X-Terra-RateLimit-Reset` says, else exponentially with jitter, a bounded number of times.
 * Any other 4xx is final, with the problem+json `detail`. `fetch` and `sleep` are parameters, so
 * tests drive every path without waiting.
 */

export interface TerraCredentials {
  devId: string;
  apiKey: string;
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  maxAttempts: number;
  /** The first pause when Terra names none; doubled on each further try. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A longer wait asked for by Terra ends the window's tries instead (a rolling hour at most). */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 60_000, maxRetryAfterMs: 3_600_000 };

export interface RetryEvent {
  attempt: number;
  maxAttempts: number;
  /** `HTTP 429 too many requests` or the network error. */
  reason: string;
  waitMs: number;
  /** Where the pause came from: Terra's headers, or the backoff. */
  source: 'retry-after' | 'backoff';
}

export interface TerraApiClientOptions {
  baseUrl: string;
  credentials: TerraCredentials;
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** [0, 1); jitter. */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  /** One try's limit: Terra can take a while to assemble a synchronous answer. */
  timeoutMs?: number;
  onRetry?: (event: RetryEvent) => void;
}

export interface HistoryQuery {
  type: string;
  userId: string;
  /** YYYY-MM-DD, and the exclusive end; absent for the athlete profile. */
  startDate?: string;
  endDate?: string;
  toWebhook: boolean;
  withSamples?: boolean;
}

export type ApiResult =
  | {
      ok: true;
      status: number;
      /** The answer's bytes, untouched: a synchronous one is enqueued as is. */
      body: Buffer;
      /** When the successful try was sent: the synchronous answer's ordering key. */
      requestedAt: number;
      answeredAt: number;
      /** `terra-reference` header of an asynchronous answer. */
      reference?: string;
      attempts: number;
    }
  | { ok: false; status?: number; reason: string; attempts: number };

export interface TerraApiClient {
  request(query: HistoryQuery): Promise<ApiResult>;
  /** The URL a query goes to (printed, and used in tests). */
  urlOf(query: HistoryQuery): string;
}

const retryableStatus = (status: number) => status === 429 || status >= 500;

/** Seconds from `Retry-After` (seconds or an HTTP date) and `X-Terra-RateLimit-Reset`, whichever is later. */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const waits: number[] = [];
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) waits.push(Number(retryAfter) * 1000);
    else if (!Number.isNaN(Date.parse(retryAfter))) waits.push(Date.parse(retryAfter) - now);
  }
  const reset = headers.get('x-terra-ratelimit-reset')?.trim();
  if (reset && /^\d+(\.\d+)?$/.test(reset)) {
    const value = Number(reset);
    // Seconds until the reset; a value that large can only be the reset's epoch time.
    waits.push(value > 1e9 ? value * 1000 - now : value * 1000);
  }
  return waits.length > 0 ? Math.max(0, ...waits) : undefined;
}

/** Exponential with jitter: half the step fixed, half random, so retries of many runs spread out. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + (step / 2) * random());
}

/** `HTTP 400 bad request: invalid end_date …` from an RFC 9457 body, or the status alone. */
export async function describeProblem(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  let title = response.statusText;
  let detail: string | undefined;
  try {
    const problem = JSON.parse(text) as { title?: unknown; detail?: unknown; message?: unknown };
    if (typeof problem.title === 'string') title = problem.title;
    if (typeof problem.detail === 'string') detail = problem.detail;
    else if (typeof problem.message === 'string') detail = problem.message;
  } catch {
    if (text.trim()) detail = text.trim().slice(0, 300);
  }
  return `HTTP ${response.status}${title ? ` ${title}` : ''}${detail ? `: ${detail}` : ''}`;
}

function describeError(error: unknown): string {
  const { message, cause } = error as { message?: string; cause?: { code?: string; message?: string } };
  const detail = cause?.code ?? cause?.message;
  return `${message ?? String(error)}${detail && !String(message).includes(detail) ? ` (${detail})` : ''}`;
}

export function createTerraApiClient(options: TerraApiClientOptions): TerraApiClient {
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options.retry };
  const random = options.random ?? Math.random;
  const base = options.baseUrl.replace(/\/+$/, '');

  const urlOf = (query: HistoryQuery) => {
    const params = new URLSearchParams({ user_id: query.userId });
    if (query.startDate) params.set('start_date', query.startDate);
    if (query.endDate) params.set('end_date', query.endDate);
    // Sent explicitly: Terra's documents disagree on the default (docs/terra.md §7).
    params.set('to_webhook', String(query.toWebhook));
    if (query.withSamples) params.set('with_samples', 'true');
    return `${base}/${query.type}?${params}`;
  };

  async function request(query: HistoryQuery): Promise<ApiResult> {
    const url = urlOf(query);
    for (let attempt = 1; ; attempt++) {
      const requestedAt = options.now();
      let reason: string;
      let status: number | undefined;
      let askedMs: number | undefined;
      try {
        const response = await options.fetch(url, {
          headers: {
            [terraApi.headers.devId]: options.credentials.devId,
            [terraApi.headers.apiKey]: options.credentials.apiKey,
            accept: 'application/json',
          },
          signal: AbortSignal.timeout(options.timeoutMs ?? 300_000),
        });
        status = response.status;
        if (response.ok) {
          const body = Buffer.from(await response.arrayBuffer());
          const reference = response.headers.get(terraApi.headers.reference) ?? undefined;
          return { ok: true, status, body, requestedAt, answeredAt: options.now(), reference, attempts: attempt };
        }
        reason = await describeProblem(response);
        if (!retryableStatus(status)) return { ok: false, status, reason, attempts: attempt };
        askedMs = retryAfterMs(response.headers, options.now());
      } catch (error) {
        reason = describeError(error);
      }
      if (attempt >= policy.maxAttempts) {
        return { ok: false, status, reason: `${reason} (gave up after ${attempt} tries)`, attempts: attempt };
      }
      if (askedMs !== undefined && askedMs > policy.maxRetryAfterMs) {
        return {
          ok: false,
          status,
          reason: `${reason} (Terra asks to wait ${Math.ceil(askedMs / 1000)} s; not waiting that long)`,
          attempts: attempt,
        };
      }
      const waitMs = askedMs ?? backoffMs(attempt, policy, random);
      options.onRetry?.({
        attempt,
        maxAttempts: policy.maxAttempts,
        reason,
        waitMs,
        source: askedMs === undefined ? 'backoff' : 'retry-after',
      });
      await options.sleep(waitMs);
    }
  }

  return { request, urlOf };
}

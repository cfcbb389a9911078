import type { TerraUser } from '../../../lambdas/consumer/terra-schemas';
import { randomUUID } from 'node:crypto';
import { terraApi } from '../../../lambdas/shared/definitions';
import { DAY_MILLISECONDS, TERRA_API_VERSION, seededRng, terraTime } from '../../tools/fixtures';
import type { DeliveryJob, WebhookEvent } from './deliver';
import { type HistoryType, athleteProfile, daysOf, historyByDay, knownUser } from './history';

/**
 * The stand-in's answers to `GET /<type>` (docs/terra.md §7), as plain values: the HTTP
 * server (server.ts) writes them, and queues the webhook deliveries a request causes.
 */

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** Deliveries to make after answering (`to_webhook`). */
  job?: DeliveryJob;
}

export interface FaultState {
  /** The next `remaining` data requests answer `status`. */
  status?: number;
  remaining: number;
  retryAfterSeconds: number;
  /** Chunks of large requests are delivered out of order (seeded by the reference). */
  shuffleChunks: boolean;
}

export interface HandlerConfig {
  /** When set, only these credentials are accepted; otherwise any non-empty ones. */
  credentials?: { devId: string; apiKey: string };
  userDaysPerHour: number;
  requestMaxDays: number;
  synchronousMaxDays: number;
  /** Ranges over this many days are sent as a large request: announced, then in chunks. */
  largeRequestMinDays: number;
  chunkDays: number;
}

export interface HandlerState {
  faults: FaultState;
  /** Days each user requested, with when: the rolling-hour ledger. */
  ledger: Map<string, { at: number; days: number }[]>;
}

export const newHandlerState = (): HandlerState => ({
  faults: { remaining: 0, retryAfterSeconds: 1, shuffleChunks: false },
  ledger: new Map(),
});

const HOUR_MS = 3_600_000;
const problemType = 'application/problem+json';
const titles: Record<number, string> = {
  400: 'bad request',
  401: 'unauthorized',
  404: 'not found',
  405: 'method not allowed',
  429: 'too many requests',
  500: 'internal server error',
};

/** RFC 9457, as Terra answers errors. */
export function problem(status: number, instance: string, detail?: string, headers: Record<string, string> = {}): Answer {
  return {
    status,
    headers: { 'content-type': problemType, ...headers },
    body: { type: 'about:blank', title: titles[status] ?? 'error', instance, ...(detail !== undefined && { detail }) },
  };
}

class BadParameter extends Error {}

/** YYYY-MM-DD or unix seconds, to the UTC midnight of that day. */
function parseDate(name: string, value: string): number {
  if (/^\d{1,12}$/.test(value)) return Math.floor((Number(value) * 1000) / DAY_MILLISECONDS) * DAY_MILLISECONDS;
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new BadParameter(`invalid ${name}: expected YYYY-MM-DD or unix seconds, got ${JSON.stringify(value)}`);
  }
  return ms;
}

function parseBoolean(name: string, value: string | null, fallback: boolean): boolean {
  if (value === null || value === '') return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new BadParameter(`invalid ${name}: expected true or false, got ${JSON.stringify(value)}`);
}

function rateLimitHeaders(limit: number, remaining: number, resetSeconds: number): Record<string, string> {
  return {
    'retry-after': String(resetSeconds),
    'x-terra-ratelimit-limit': String(limit),
    'x-terra-ratelimit-remaining': String(Math.max(0, remaining)),
    'x-terra-ratelimit-reset': String(resetSeconds),
  };
}

/** Charges `days` to the user's rolling hour, or says how long until they would fit. */
function charge(
  state: HandlerState,
  config: HandlerConfig,
  userId: string,
  days: number,
  now: number,
): { ok: true } | { ok: false; used: number; resetSeconds: number } {
  const recent = (state.ledger.get(userId) ?? []).filter((entry) => entry.at > now - HOUR_MS);
  const used = recent.reduce((sum, entry) => sum + entry.days, 0);
  if (used + days > config.userDaysPerHour) {
    // The window frees enough room once the oldest entries that block this request fall out.
    let freed = used;
    let resetAt = now;
    for (const entry of recent) {
      freed -= entry.days;
      resetAt = entry.at + HOUR_MS;
      if (freed + days <= config.userDaysPerHour) break;
    }
    state.ledger.set(userId, recent);
    return { ok: false, used, resetSeconds: Math.max(1, Math.ceil((resetAt - now) / 1000)) };
  }
  recent.push({ at: now, days });
  state.ledger.set(userId, recent);
  return { ok: true };
}

function dataEventBody(type: HistoryType, user: TerraUser, data: unknown[]) {
  return { type, user, data, version: TERRA_API_VERSION };
}

/** Fisher–Yates with the simulator's seeded PRNG: the same reference, the same order. */
function shuffled<T>(items: readonly T[], seed: string): T[] {
  const rng = seededRng(seed);
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

export interface HistoryRequest {
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
}

export function handleHistory(request: HistoryRequest, config: HandlerConfig, state: HandlerState, now: number): Answer {
  const type = request.path.slice(1);
  const devId = request.headers[terraApi.headers.devId];
  const apiKey = request.headers[terraApi.headers.apiKey];
  if (!devId || !apiKey) return problem(401, request.path, 'dev-id or x-api-key headers are missing');
  if (config.credentials && (devId !== config.credentials.devId || apiKey !== config.credentials.apiKey)) {
    return problem(401, request.path, 'dev-id or x-api-key is invalid');
  }

  const { faults } = state;
  if (faults.status !== undefined && faults.remaining > 0) {
    faults.remaining--;
    const headers = faults.status === 429 ? rateLimitHeaders(config.userDaysPerHour, 0, faults.retryAfterSeconds) : {};
    return problem(faults.status, request.path, 'fault injected by the stand-in (POST /_stand-in/faults)', headers);
  }

  try {
    const userId = request.query.get('user_id');
    if (!userId) throw new BadParameter('user_id is required');
    const user: TerraUser = { ...knownUser(userId), last_webhook_update: terraTime(now) };
    const toWebhook = parseBoolean('to_webhook', request.query.get('to_webhook'), true);

    if (type === 'athlete') {
      const athlete = athleteProfile(user);
      if (!toWebhook) return { status: 200, headers: {}, body: { athlete, type: 'athlete', user } };
      return asynchronous(type, user, undefined, (reference) => [
        { body: { type: 'athlete', user, athlete, version: TERRA_API_VERSION }, traceId: reference },
      ]);
    }

    const startParam = request.query.get('start_date');
    if (!startParam) throw new BadParameter('start_date is required');
    const start = parseDate('start_date', startParam);
    const todayMs = Math.floor(now / DAY_MILLISECONDS) * DAY_MILLISECONDS;
    const endParam = request.query.get('end_date');
    const end = endParam ? parseDate('end_date', endParam) : todayMs + DAY_MILLISECONDS;
    if (end <= start) throw new BadParameter('invalid end_date: it must come after start_date (end_date is exclusive)');
    const dayCount = Math.round((end - start) / DAY_MILLISECONDS);
    if (dayCount > config.requestMaxDays) {
      throw new BadParameter(`invalid end_date: a request covers at most ${config.requestMaxDays} days, this one ${dayCount}`);
    }
    const withSamples = parseBoolean('with_samples', request.query.get('with_samples'), false);

    const charged = charge(state, config, userId, dayCount, now);
    if (!charged.ok) {
      const detail = `user ${userId} requested ${charged.used} days in the last hour; ${dayCount} more would exceed ${config.userDaysPerHour}`;
      return problem(
        429,
        request.path,
        detail,
        rateLimitHeaders(config.userDaysPerHour, config.userDaysPerHour - charged.used, charged.resetSeconds),
      );
    }

    const days = daysOf(start, end);
    const byDay = historyByDay({ type: type as HistoryType, user, days, withSamples, today: new Date(todayMs).toISOString().slice(0, 10) });
    if (!toWebhook && dayCount <= config.synchronousMaxDays) {
      return { status: 200, headers: {}, body: { user, data: byDay.flat(), type } };
    }
    if (dayCount <= config.largeRequestMinDays) {
      return asynchronous(type, user, undefined, (reference) => [
        { body: dataEventBody(type as HistoryType, user, byDay.flat()), traceId: reference },
      ]);
    }
    const message = 'Large request submitted. The data is being processed and will be sent to your destination in chunks';
    return asynchronous(type, user, message, (reference) => {
      const chunks: WebhookEvent[] = [];
      for (let first = 0; first < byDay.length; first += config.chunkDays) {
        const data = byDay.slice(first, first + config.chunkDays).flat();
        if (data.length > 0)
          chunks.push({ body: dataEventBody(type as HistoryType, user, data), traceId: `${reference}:chunk:${chunks.length + 1}` });
      }
      const announcements: WebhookEvent[] = [
        {
          body: {
            type: 'large_request_processing',
            status: 'processing',
            message: 'Large request is being processed',
            user,
            reference,
            version: TERRA_API_VERSION,
          },
          traceId: reference,
        },
        {
          body: {
            type: 'large_request_sending',
            status: 'success',
            message: 'Large request is being sent',
            user,
            reference,
            expected_payloads: chunks.length,
            version: TERRA_API_VERSION,
          },
          traceId: reference,
        },
      ];
      return [...announcements, ...(faults.shuffleChunks ? shuffled(chunks, reference) : chunks)];
    });
  } catch (error) {
    if (error instanceof BadParameter) return problem(400, request.path, error.message);
    throw error;
  }
}

/** `DataSentToWebhook`: the request is accepted, the data follows through the webhook. */
function asynchronous(type: string, user: TerraUser, message: string | undefined, events: (reference: string) => WebhookEvent[]): Answer {
  const reference = randomUUID();
  return {
    status: 200,
    headers: { [terraApi.headers.reference]: reference },
    body: {
      status: 'success',
      type,
      reference,
      trace_id: reference,
      ...(message !== undefined && { message }),
      user: { user_id: user.user_id, provider: user.provider, reference_id: user.reference_id },
    },
    job: { reference, events: events(reference) },
  };
}

/** `POST /_stand-in/faults`: `{status, count, retryAfterSeconds}` and/or `{shuffleChunks}`; `{}` clears. */
export function handleFaults(body: unknown, state: HandlerState): Answer {
  const input = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const { status, count, retryAfterSeconds, shuffleChunks } = input;
  if (status !== undefined && (!Number.isInteger(status) || (status as number) < 400 || (status as number) > 599)) {
    return problem(400, '/_stand-in/faults', 'status must be an HTTP error status (400-599)');
  }
  if (count !== undefined && (!Number.isInteger(count) || (count as number) < 0))
    return problem(400, '/_stand-in/faults', 'count must be a non-negative integer');
  if (retryAfterSeconds !== undefined && (!Number.isInteger(retryAfterSeconds) || (retryAfterSeconds as number) < 0)) {
    return problem(400, '/_stand-in/faults', 'retryAfterSeconds must be a non-negative integer');
  }
  if (shuffleChunks !== undefined && typeof shuffleChunks !== 'boolean')
    return problem(400, '/_stand-in/faults', 'shuffleChunks must be a boolean');
  const faults = state.faults;
  if (Object.keys(input).length === 0) Object.assign(faults, newHandlerState().faults);
  if (status !== undefined) {
    faults.status = status as number;
    faults.remaining = (count as number | undefined) ?? 1;
  } else if (count !== undefined) faults.remaining = count as number;
  if (retryAfterSeconds !== undefined) faults.retryAfterSeconds = retryAfterSeconds as number;
  if (shuffleChunks !== undefined) faults.shuffleChunks = shuffleChunks;
  return { status: 200, headers: {}, body: { ...faults } };
}

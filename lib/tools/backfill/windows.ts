import { terraApi } from '../../../lambdas/shared/definitions';

/**
 * The backfill planner: which requests to make of Terra's REST API (docs/terra.md §7), and
 * when. Pure: dates in, windows out; the rolling-hour ledger is a list the caller keeps.
 */

export type TerraType = (typeof terraApi.types)[number];

/** One request: a type over whole UTC days, `to` inclusive as typed, `endDate` exclusive as Terra reads it. */
export interface DateWindow {
  type: Exclude<TerraType, 'athlete'>;
  /** `start_date`, YYYY-MM-DD. */
  from: string;
  /** The last day asked for, inclusive (what `--to` means). */
  to: string;
  /** `end_date`: the day after `to` (Terra's end is exclusive). */
  endDate: string;
  days: number;
  /** Synchronous (`to_webhook=false`) up to `synchronousMaxDays`, else through the webhook. */
  mode: 'sync' | 'async';
}

/** The athlete profile: no dates, always synchronous, charged nothing against the day limit. */
export interface AthleteWindow {
  type: 'athlete';
  mode: 'sync';
  days: 0;
}

export type Window = DateWindow | AthleteWindow;

export interface PlanLimits {
  synchronousMaxDays: number;
  requestMaxDays: number;
}

const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
const defaultLimits: PlanLimits = { synchronousMaxDays: terraApi.synchronousMaxDays, requestMaxDays: terraApi.requestMaxDays };

/** A strict YYYY-MM-DD (a real calendar day) to its UTC midnight; throws naming the flag. */
export function parseDay(value: string, flag: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
  if (Number.isNaN(ms) || formatDay(ms) !== value) throw new Error(`${flag} must be a date, YYYY-MM-DD, got "${value}"`);
  return ms;
}

export const formatDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** `all` is every type Terra has a history endpoint for. */
export function typesOf(type: string): TerraType[] {
  if (type === 'all') return [...terraApi.types];
  if (!(terraApi.types as readonly string[]).includes(type)) {
    throw new Error(`--type must be one of ${terraApi.types.join(', ')} or all, got "${type}"`);
  }
  return [type as TerraType];
}

/**
 * Splits `[from, to]` (both inclusive) into windows of at most `requestMaxDays`. A range over the
 * limit is cut into equal parts rather than full windows and a remainder: every part then stays
 * asynchronous, and no stray one-day request appears at the end.
 */
export function splitDays(fromMs: number, toMs: number, limits: PlanLimits = defaultLimits): Omit<DateWindow, 'type'>[] {
  const total = Math.round((toMs - fromMs) / DAY_MS) + 1;
  if (total < 1) throw new Error(`--from (${formatDay(fromMs)}) is after --to (${formatDay(toMs)})`);
  const parts = Math.ceil(total / limits.requestMaxDays);
  const windows: Omit<DateWindow, 'type'>[] = [];
  let start = fromMs;
  for (let part = 0; part < parts; part++) {
    const days = Math.floor(total / parts) + (part < total % parts ? 1 : 0);
    const end = start + days * DAY_MS;
    windows.push({
      from: formatDay(start),
      to: formatDay(end - DAY_MS),
      endDate: formatDay(end),
      days,
      mode: days <= limits.synchronousMaxDays ? 'sync' : 'async',
    });
    start = end;
  }
  return windows;
}

export interface PlanInput {
  types: readonly TerraType[];
  /** YYYY-MM-DD; needed unless the only type is athlete. */
  from?: string;
  to?: string;
}

/** Every request of a backfill, type by type, each type's windows in date order. */
export function planWindows(input: PlanInput, limits: PlanLimits = defaultLimits): Window[] {
  const dated = input.types.filter((type) => type !== 'athlete');
  let range: Omit<DateWindow, 'type'>[] = [];
  if (dated.length > 0) {
    if (input.from === undefined || input.to === undefined)
      throw new Error('--from and --to are required (only --type athlete goes without dates)');
    range = splitDays(parseDay(input.from, '--from'), parseDay(input.to, '--to'), limits);
  }
  return input.types.flatMap((type): Window[] =>
    type === 'athlete' ? [{ type: 'athlete', mode: 'sync', days: 0 }] : range.map((window) => ({ type, ...window })),
  );
}

/** Days one user was charged, and when (the end of the request: never earlier than Terra's count). */
export interface LedgerEntry {
  at: number;
  days: number;
}

/**
 * How long to wait before asking for `days` more, so the user stays within `limit` requested days
 * in any rolling hour: 0 when they fit now, else until enough of the oldest entries leave the hour.
 */
export function waitBeforeRequest(
  ledger: readonly LedgerEntry[],
  days: number,
  now: number,
  limit: number = terraApi.userDaysPerHour,
): number {
  if (days > limit) throw new Error(`one request of ${days} days exceeds the ${limit} days allowed per hour`);
  const recent = ledger.filter((entry) => entry.at > now - HOUR_MS).sort((a, b) => a.at - b.at);
  let used = recent.reduce((sum, entry) => sum + entry.days, 0);
  if (used + days <= limit) return 0;
  for (const entry of recent) {
    used -= entry.days;
    if (used + days <= limit) return entry.at + HOUR_MS - now;
  }
  return HOUR_MS; // not reached: with every entry gone, `days <= limit` fits
}

/** A window as a person reads it: `activity 2026-08-01..2026-10-29 (90 days, async)`. */
export function describeWindow(window: Window): string {
  if (window.type === 'athlete') return 'athlete profile (sync)';
  return `${window.type} ${window.from}..${window.to} (${window.days} day${window.days === 1 ? '' : 's'}, ${window.mode})`;
}

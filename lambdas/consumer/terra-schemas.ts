import en from 'zod/v4/locales/en.js';
import * as z from 'zod/mini';
import { recordTypes } from './record-identity';

/**
 * The parts of Terra's events this product relies on, as zod schemas. Everything else in a body
 * is kept as sent (objects are `loose`), so a field Terra adds tomorrow is stored, not stripped.
 *
 * zod/mini, not zod's classic API: the same validation and messages, but the classic API's module
 * and schema construction cost the consumer's cold start ~18 ms of import (README, Performance).
 */

// The messages `invalid` reasons carry ("Invalid input: expected string, received undefined");
// zod/mini loads no locale of its own.
z.config(en());

/** Every type that carries a user's records: `data: [records…]`, or one `athlete` profile. */
export const dataTypes = [...recordTypes, 'athlete'] as const;
export type DataType = (typeof dataTypes)[number];

export const connectionTypes = [
  'auth',
  'auth_cancelled',
  'deauth',
  'user_reauth',
  'access_revoked',
  'connection_error',
  'google_no_datasource',
  'permission_change',
] as const;
export type ConnectionType = (typeof connectionTypes)[number];

/** Known to Terra's catalogue, but neither a record nor a connection change: kept as events. */
export const recordedTypes = [
  'large_request_processing',
  'large_request_sending',
  'rate_limit_hit',
  'healthcheck',
  'processing',
  's3_payload',
  'lab_report.completed',
  'lab_report.failed',
] as const;

const nonEmptyString = z.string().check(z.minLength(1));
const absentIfOdd = <T extends z.ZodMiniType>(schema: T) => z.catch(z.nullish(schema), undefined);

/**
 * Terra's `TerraUser` (vendor/terra-openapi, docs/terra.md §5): the connection a body belongs to.
 * The one type of a Terra user here: the consumer reads it, the fixtures and the stand-in of
 * Terra's API write it.
 */
export interface TerraUser {
  user_id: string;
  provider?: string | null;
  /** The app's own id for the user, set when the widget session was made. */
  reference_id?: string | null;
  /** Comma-separated, as Terra sends it (not an array). */
  scopes?: string | null;
  active?: boolean | null;
  created_at?: string | null;
  last_webhook_update?: string | null;
}

// Only what keys need is required: a user id. Terra marks the rest optional or nullable.
export const terraUser = z.looseObject({
  user_id: nonEmptyString,
  // An odd value here must not sink a delivery's records: it is read as absent.
  provider: absentIfOdd(z.string()),
  reference_id: absentIfOdd(z.string()),
  scopes: absentIfOdd(z.string()),
  active: absentIfOdd(z.boolean()),
});
// What the schema lets through is a TerraUser: tsc fails here if the two drift apart.
type Holds<T extends true> = T;
export type ParsedUserIsTerraUser = Holds<z.infer<typeof terraUser> extends TerraUser ? true : false>;

export const envelope = z.looseObject({ type: nonEmptyString });

/**
 * A data event as far as routing needs it: the user, and the records as sent. Each record is then
 * identified on its own (record-identity.ts), so one bad record does not sink its siblings.
 */
export const dataEvent = z.looseObject({ type: z.string(), user: terraUser, data: z.array(z.unknown()) });

export const athleteEvent = z.looseObject({ type: z.literal('athlete'), user: terraUser, athlete: z.looseObject({}) });

/** Lab reports are report-scoped: no Terra user, only the session and the developer's reference. */
export const labReportEvent = z.looseObject({
  type: z.enum(['lab_report.completed', 'lab_report.failed']),
  data: z.nullish(z.looseObject({ session_id: z.optional(z.unknown()), reference_id: z.optional(z.unknown()) })),
});

const userEvent = (type: string) => z.looseObject({ type: z.literal(type), user: terraUser, status: z.nullish(z.string()) });

export const connectionEventSchemas = {
  auth: userEvent('auth'),
  deauth: userEvent('deauth'),
  access_revoked: userEvent('access_revoked'),
  connection_error: userEvent('connection_error'),
  google_no_datasource: userEvent('google_no_datasource'),
  permission_change: z.extend(userEvent('permission_change'), {
    scopes_added: z.nullish(z.string()),
    scopes_removed: z.nullish(z.string()),
  }),
  user_reauth: z.looseObject({ type: z.literal('user_reauth'), new_user: terraUser, old_user: z.nullish(terraUser) }),
  // A cancelled or failed widget flow: there is no Terra user yet, only the developer's reference.
  auth_cancelled: z.looseObject({
    type: z.literal('auth_cancelled'),
    reference_id: z.nullish(z.string()),
    reason: z.nullish(z.string()),
  }),
} satisfies Record<ConnectionType, z.ZodMiniType>;

/** Ping mode: the full event waits at `url` for `expires_in` seconds. */
export const s3PayloadEvent = z.looseObject({
  type: z.literal('s3_payload'),
  // Not checked as a URL here: an unusable one is a failed download, kept as ping_fetch_failed.
  url: nonEmptyString,
  expires_in: z.nullish(z.number()),
});

/**
 * Announces a historical backfill: `large_request_processing` first, then `large_request_sending`
 * with `expected_payloads`, the number of data events that follow with the same terra-reference.
 */
export const largeRequestEvent = z.looseObject({
  type: z.enum(['large_request_processing', 'large_request_sending']),
  reference: nonEmptyString,
  // Terra's schema says only "integer": a value the tracker cannot use still opens the tracker.
  expected_payloads: absentIfOdd(z.int().check(z.nonnegative())),
  user: z.nullish(terraUser),
});

export function isDataType(type: string): type is DataType {
  return (dataTypes as readonly string[]).includes(type);
}

export function isConnectionType(type: string): type is ConnectionType {
  return (connectionTypes as readonly string[]).includes(type);
}

export function isRecordedType(type: string): boolean {
  return (recordedTypes as readonly string[]).includes(type);
}

/** One line a person can act on, e.g. `data.0.metadata.summary_id: Invalid input`. */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

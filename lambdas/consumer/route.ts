import type * as z from 'zod/mini';
import { eventAttributes, userAttributes } from '../shared/attributes';
import { identify, isRecordType, isTooDeep, presentString, type RecordType, tooDeepMessage } from './record-identity';
import {
  athleteEvent,
  connectionEventSchemas,
  type ConnectionType,
  type DataType,
  dataEvent,
  describeIssues,
  envelope,
  isConnectionType,
  isDataType,
  isRecordedType,
  labReportEvent,
  type TerraUser,
} from './terra-schemas';

/**
 * Decides what an authenticated body becomes: records, a change of a user's connection state,
 * or an event kept as it is with an outcome and a reason. Pure: no I/O, no clock.
 */

export interface DataRecord {
  /** `<type>#<identifier>`, the sort key in terra-data. */
  recordId: string;
  startTime?: string;
  endTime?: string;
  summaryId?: string;
  /** The record exactly as Terra sent it. */
  record: Record<string, unknown>;
}

export interface UserChange {
  userId: string;
  provider?: string;
  referenceId?: string;
  /** Undefined keeps the stored status (e.g. a permission change). */
  status?: string;
  active?: boolean;
  scopes?: string;
  /** Extra attributes this event sets, e.g. `replaced_by` after a user_reauth. */
  extra?: Record<string, string>;
}

export type EventOutcome =
  | 'recorded'
  | 'unknown_type'
  | 'invalid'
  | 'unparseable'
  | 'rejected_by_storage'
  | 'ping_fetch_failed'
  | 'too_large';

/** Records of a delivery that have no usable identifier: `data.<index>.<field>: <why>` each. */
export interface RefusedRecords {
  count: number;
  reason: string;
}

export type Route =
  | { kind: 'data'; type: DataType; user: TerraUser; records: DataRecord[]; refused?: RefusedRecords }
  | { kind: 'connection'; type: string; changes: UserChange[] }
  | {
      kind: 'event';
      type: string;
      outcome: EventOutcome;
      reason: string;
      userId?: string;
      /** More attributes of the kept event, e.g. a lab report's `session_id`. */
      attributes?: Record<string, string>;
    };

function userOf(user: TerraUser): Pick<UserChange, 'userId' | 'provider' | 'referenceId' | 'scopes'> {
  return {
    userId: user.user_id,
    provider: presentString(user.provider),
    referenceId: presentString(user.reference_id),
    scopes: presentString(user.scopes),
  };
}

// A reason names the first few refused records; the count says how many there were.
const refusedShown = 5;

function routeRecords(type: RecordType, body: unknown): Route {
  const parsed = dataEvent.safeParse(body);
  if (!parsed.success) return invalid(type, describeIssues(parsed.error), body);
  const { user, data } = parsed.data;
  const records: DataRecord[] = [];
  const refused: string[] = [];
  data.forEach((record, index) => {
    const identity = identify(type, record);
    if (!identity.ok) {
      refused.push(`${['data', index, identity.field].filter((part) => part !== '').join('.')}: ${identity.message}`);
      return;
    }
    const { identifier, startTime, endTime, summaryId } = identity;
    records.push({ recordId: `${type}#${identifier}`, startTime, endTime, summaryId, record: record as Record<string, unknown> });
  });
  if (records.length === 0) {
    if (refused.length > 0) return invalid(type, refusedReason(refused, data.length), body);
    return { kind: 'event', type, outcome: 'recorded', reason: 'data event with no records', userId: user.user_id };
  }
  return {
    kind: 'data',
    type,
    user,
    records,
    ...(refused.length > 0 && { refused: { count: refused.length, reason: refusedReason(refused, data.length) } }),
  };
}

function refusedReason(refused: string[], total: number): string {
  const more = refused.length > refusedShown ? `; and ${refused.length - refusedShown} more` : '';
  return `${refused.length} of ${total} records refused: ${refused.slice(0, refusedShown).join('; ')}${more}`;
}

function routeAthlete(body: unknown): Route {
  const parsed = athleteEvent.safeParse(body);
  if (!parsed.success) return invalid('athlete', describeIssues(parsed.error), body);
  // The profile as sent, not zod's copy of it, which leaves out a `__proto__` key.
  const athlete = (body as { athlete: Record<string, unknown> }).athlete;
  if (isTooDeep(athlete)) return invalid('athlete', `athlete: ${tooDeepMessage}`, body);
  return { kind: 'data', type: 'athlete', user: parsed.data.user, records: [{ recordId: 'athlete#profile', record: athlete }] };
}

function routeData(type: DataType, body: unknown): Route {
  return isRecordType(type) ? routeRecords(type, body) : routeAthlete(body);
}

/** Identifiers a lab report carries, as strings (Terra's are strings; numbers are tolerated). */
function labReportAttributes(body: unknown): Record<string, string> {
  const parsed = labReportEvent.safeParse(body);
  const data = parsed.success ? parsed.data.data : undefined;
  const identifiers = { [eventAttributes.sessionId]: data?.session_id, [eventAttributes.referenceId]: data?.reference_id };
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(identifiers)) {
    if ((typeof value === 'string' && value.length > 0) || typeof value === 'number') attributes[name] = String(value);
  }
  return attributes;
}

/** A connection event as its schema in connectionEventSchemas parsed it. */
type ConnectionEvent<T extends ConnectionType = ConnectionType> = z.infer<(typeof connectionEventSchemas)[T]>;

function connectionChanges(type: string, event: ConnectionEvent): UserChange[] {
  switch (type) {
    case 'auth': {
      const { user, status } = event as ConnectionEvent<'auth'>;
      const failed = status === 'error';
      return [{ ...userOf(user), status: failed ? 'auth_failed' : 'connected', active: !failed }];
    }
    case 'deauth':
      return [{ ...userOf((event as ConnectionEvent<'deauth'>).user), status: 'deauthenticated', active: false }];
    case 'access_revoked':
      return [{ ...userOf((event as ConnectionEvent<'access_revoked'>).user), status: 'access_revoked', active: false }];
    case 'connection_error': {
      const { user } = event as ConnectionEvent<'connection_error'>;
      return [{ ...userOf(user), status: 'connection_error', active: user.active ?? false }];
    }
    case 'google_no_datasource': {
      const { user } = event as ConnectionEvent<'google_no_datasource'>;
      return [{ ...userOf(user), status: 'no_datasource', active: user.active ?? undefined }];
    }
    case 'permission_change': {
      const { user, scopes_added, scopes_removed } = event as ConnectionEvent<'permission_change'>;
      return [
        {
          ...userOf(user),
          active: user.active ?? undefined,
          extra: {
            ...(scopes_added && { [userAttributes.scopesAdded]: scopes_added }),
            ...(scopes_removed && { [userAttributes.scopesRemoved]: scopes_removed }),
          },
        },
      ];
    }
    case 'user_reauth': {
      const { new_user, old_user } = event as ConnectionEvent<'user_reauth'>;
      const newUser = userOf(new_user);
      const changes: UserChange[] = [{ ...newUser, status: 'connected', active: true }];
      if (old_user && old_user.user_id !== new_user.user_id) {
        changes[0].extra = { [userAttributes.replaces]: old_user.user_id };
        changes.push({
          ...userOf(old_user),
          status: 'replaced',
          active: false,
          extra: { [userAttributes.replacedBy]: newUser.userId },
        });
      }
      return changes;
    }
    default:
      return [];
  }
}

function invalid(type: string, reason: string, body: unknown): Route {
  const userId = presentString((body as { user?: { user_id?: unknown } })?.user?.user_id);
  return { kind: 'event', type, outcome: 'invalid', reason, userId };
}

export function routeBody(rawBody: string): Route {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch (error) {
    return { kind: 'event', type: '(unparseable)', outcome: 'unparseable', reason: `not JSON: ${(error as Error).message}` };
  }
  const head = envelope.safeParse(body);
  if (!head.success) {
    return { kind: 'event', type: '(unparseable)', outcome: 'unparseable', reason: `no event type: ${describeIssues(head.error)}` };
  }
  const { type } = head.data;
  if (isDataType(type)) return routeData(type, body);
  if (isConnectionType(type)) {
    const parsed = connectionEventSchemas[type].safeParse(body);
    if (!parsed.success) return invalid(type, describeIssues(parsed.error), body);
    if (type === 'auth_cancelled') {
      // No Terra user exists for a cancelled flow; the event is all there is to keep.
      return { kind: 'event', type, outcome: 'recorded', reason: 'authentication flow cancelled or failed; no user_id' };
    }
    return { kind: 'connection', type, changes: connectionChanges(type, parsed.data) };
  }
  const userId = presentString((body as { user?: { user_id?: unknown } }).user?.user_id);
  if (type.startsWith('lab_report.') && isRecordedType(type)) {
    // Report-scoped, with no Terra user: kept whole, with its session and reference as attributes.
    return { kind: 'event', type, outcome: 'recorded', reason: `${type} event (no Terra user)`, attributes: labReportAttributes(body) };
  }
  if (isRecordedType(type)) return { kind: 'event', type, outcome: 'recorded', reason: `${type} event`, userId };
  return { kind: 'event', type, outcome: 'unknown_type', reason: `event type "${type}" is not known to this version`, userId };
}

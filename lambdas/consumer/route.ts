import {
  connectionEventSchemas,
  type DataType,
  dataEventSchemas,
  describeIssues,
  envelope,
  isConnectionType,
  isDataType,
  isRecordedType,
  type TerraUser,
} from './terra-events';

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
  provider: string;
  referenceId?: string;
  /** Undefined keeps the stored status (e.g. a permission change). */
  status?: string;
  active?: boolean;
  scopes?: string;
  /** Extra attributes this event sets, e.g. `replaced_by` after a user_reauth. */
  extra?: Record<string, string>;
}

export type EventOutcome = 'recorded' | 'unknown_type' | 'invalid' | 'unparseable' | 'rejected_by_storage' | 'ping_fetch_failed';

export type Route =
  | { kind: 'data'; type: DataType; user: TerraUser; records: DataRecord[] }
  | { kind: 'connection'; type: string; changes: UserChange[] }
  | { kind: 'event'; type: string; outcome: EventOutcome; reason: string; userId?: string };

type Metadata = { summary_id?: string | null; id?: string | null; start_time?: string | null; end_time?: string | null };

/** Terra's unique identifier of a record within a user (terra-contract.md §4). */
export function recordIdentifier(type: Exclude<DataType, 'athlete'>, metadata: Metadata): string {
  switch (type) {
    case 'activity':
    case 'sleep':
      return metadata.summary_id as string;
    case 'planned_workout':
      return (metadata.summary_id ?? metadata.id) as string;
    case 'daily':
    case 'body':
    case 'menstruation':
      // The date part as Terra wrote it, before any timezone conversion.
      return (metadata.start_time as string).slice(0, 10);
    case 'nutrition':
      return metadata.start_time as string;
  }
}

const presentString = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

function userOf(user: TerraUser): Pick<UserChange, 'userId' | 'provider' | 'referenceId' | 'scopes'> {
  return {
    userId: user.user_id,
    provider: user.provider,
    referenceId: presentString(user.reference_id),
    scopes: presentString(user.scopes),
  };
}

function routeData(type: DataType, body: unknown): Route {
  const parsed = dataEventSchemas[type].safeParse(body);
  if (!parsed.success) return invalid(type, describeIssues(parsed.error), body);
  const event = parsed.data as { user: TerraUser; data?: { metadata: Metadata }[]; athlete?: Record<string, unknown> };
  if (type === 'athlete') {
    return { kind: 'data', type, user: event.user, records: [{ recordId: 'athlete#profile', record: event.athlete ?? {} }] };
  }
  const records = (event.data ?? []).map((record): DataRecord => {
    const { metadata } = record;
    return {
      recordId: `${type}#${recordIdentifier(type, metadata)}`,
      startTime: presentString(metadata.start_time),
      endTime: presentString(metadata.end_time),
      summaryId: presentString(metadata.summary_id),
      record: record as Record<string, unknown>,
    };
  });
  if (records.length === 0) {
    return { kind: 'event', type, outcome: 'recorded', reason: 'data event with no records', userId: event.user.user_id };
  }
  return { kind: 'data', type, user: event.user, records };
}

function connectionChanges(type: string, event: Record<string, any>): UserChange[] {
  switch (type) {
    case 'auth': {
      const failed = event.status === 'error';
      return [{ ...userOf(event.user), status: failed ? 'auth_failed' : 'connected', active: !failed }];
    }
    case 'deauth':
      return [{ ...userOf(event.user), status: 'deauthenticated', active: false }];
    case 'access_revoked':
      return [{ ...userOf(event.user), status: 'access_revoked', active: false }];
    case 'connection_error':
      return [{ ...userOf(event.user), status: 'connection_error', active: event.user.active ?? false }];
    case 'google_no_datasource':
      return [{ ...userOf(event.user), status: 'no_datasource', active: event.user.active ?? undefined }];
    case 'permission_change':
      return [
        {
          ...userOf(event.user),
          active: event.user.active ?? undefined,
          extra: {
            ...(presentString(event.scopes_added) && { scopes_added: event.scopes_added }),
            ...(presentString(event.scopes_removed) && { scopes_removed: event.scopes_removed }),
          },
        },
      ];
    case 'user_reauth': {
      const newUser = userOf(event.new_user);
      const changes: UserChange[] = [{ ...newUser, status: 'connected', active: true }];
      if (event.old_user && event.old_user.user_id !== event.new_user.user_id) {
        changes[0].extra = { replaces: event.old_user.user_id };
        changes.push({
          ...userOf(event.old_user),
          status: 'replaced',
          active: false,
          extra: { replaced_by: newUser.userId },
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
  if (isRecordedType(type)) return { kind: 'event', type, outcome: 'recorded', reason: `${type} event`, userId };
  return { kind: 'event', type, outcome: 'unknown_type', reason: `event type "${type}" is not known to this version`, userId };
}

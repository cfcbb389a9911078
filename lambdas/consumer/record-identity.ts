/**
 * Terra's identifier of each record within a user (docs/terra.md §4): the one home of the
 * identity rule. Only what a key and the index need is read; everything else in a record is kept
 * as sent. Pure: no I/O.
 */

/** Data types whose events carry `data: [records…]`; `athlete` carries one profile instead. */
export const recordTypes = [
  'activity',
  'body',
  'daily',
  'sleep',
  'menstruation',
  'nutrition',
  'planned_workout',
  'hormone',
  'health_observation',
] as const;
export type RecordType = (typeof recordTypes)[number];

type Json = Record<string, unknown>;

/** What a record is stored under, or the field that is missing (named from the record's root). */
export type Identity =
  | { ok: true; identifier: string; startTime?: string; endTime?: string; summaryId?: string }
  | { ok: false; field: string; message: string };

/**
 * A record nested deeper than this is refused: storing it means serializing it again, and
 * JSON.stringify and the SDK's marshaller recurse, overflowing the stack a few thousand levels
 * down (JSON.parse does not, so such a body parses). Terra's records are a few levels deep.
 */
export const maxRecordDepth = 1_000;

/** Levels of objects and arrays in `value` (1 for a flat object), counted without recursion; stops counting past `limit`. */
export function nestingDepth(value: unknown, limit = Infinity): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  const nodes: unknown[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop() as object;
    const depth = depths.pop()!;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) break;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child === null || typeof child !== 'object') continue;
      nodes.push(child);
      depths.push(depth + 1);
    }
  }
  return deepest;
}

export const isTooDeep = (record: unknown) => nestingDepth(record, maxRecordDepth) > maxRecordDepth;
export const tooDeepMessage = `nested deeper than ${maxRecordDepth} levels`;

export const presentString = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

const objectOr = (value: unknown): Json | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;

const missing = (field: string): Identity => ({ ok: false, field, message: 'a non-empty string is required' });

/** Start and end of a record with `metadata`, for the user-type-start-time index. */
function times(metadata: Json) {
  return {
    startTime: presentString(metadata.start_time),
    endTime: presentString(metadata.end_time),
    summaryId: presentString(metadata.summary_id),
  };
}

function bySummaryId(record: Json): Identity {
  const metadata = objectOr(record.metadata) ?? {};
  const summaryId = presentString(metadata.summary_id);
  return summaryId ? { ok: true, identifier: summaryId, ...times(metadata) } : missing('metadata.summary_id');
}

/** The date part as Terra wrote it (first 10 characters), before any timezone conversion. */
function byStartDate(record: Json): Identity {
  const metadata = objectOr(record.metadata) ?? {};
  const startTime = presentString(metadata.start_time);
  return startTime ? { ok: true, identifier: startTime.slice(0, 10), ...times(metadata) } : missing('metadata.start_time');
}

function byStartTime(record: Json): Identity {
  const metadata = objectOr(record.metadata) ?? {};
  const startTime = presentString(metadata.start_time);
  return startTime ? { ok: true, identifier: startTime, ...times(metadata) } : missing('metadata.start_time');
}

/**
 * Terra's published `PlannedWorkout` has no metadata: `planned_workout_id`. Older shapes carried
 * `metadata.summary_id`, then `metadata.id`.
 */
function plannedWorkout(record: Json): Identity {
  const metadata = objectOr(record.metadata) ?? {};
  const identifier = presentString(record.planned_workout_id) ?? presentString(metadata.summary_id) ?? presentString(metadata.id);
  if (!identifier) return missing('planned_workout_id');
  return {
    ok: true,
    identifier,
    startTime: presentString(metadata.start_time) ?? presentString(record.planned_date),
    endTime: presentString(metadata.end_time),
    summaryId: presentString(metadata.summary_id),
  };
}

/** Each `HormoneSample` is a record of its own, keyed by its ISO 8601 `timestamp`. */
function hormoneSample(record: Json): Identity {
  const timestamp = presentString(record.timestamp);
  return timestamp ? { ok: true, identifier: timestamp, startTime: timestamp } : missing('timestamp');
}

const rules: Record<RecordType, (record: Json) => Identity> = {
  activity: bySummaryId,
  sleep: bySummaryId,
  health_observation: bySummaryId,
  daily: byStartDate,
  body: byStartDate,
  menstruation: byStartDate,
  nutrition: byStartTime,
  planned_workout: plannedWorkout,
  hormone: hormoneSample,
};

export function identify(type: RecordType, record: unknown): Identity {
  const object = objectOr(record);
  if (!object) return { ok: false, field: '', message: 'a record must be a JSON object' };
  if (isTooDeep(object)) return { ok: false, field: '', message: tooDeepMessage };
  return rules[type](object);
}

export function isRecordType(type: string): type is RecordType {
  return (recordTypes as readonly string[]).includes(type);
}

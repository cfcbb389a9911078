import * as fixtures from '../../../lib/tools/fixtures';

/**
 * Valid Terra events to start from: the simulator's fixtures (Withings, Dexcom, Xert, Xoss days)
 * and small hand-written bodies for the types the fixtures do not cover, one of every kind the
 * consumer routes: records of each data type, connection changes, recorded events, lab reports,
 * an unknown type. Built once; each case takes a fresh copy with its own user ids.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface EventTemplate {
  name: string;
  /** How many user ids the body carries: `user`, or `new_user` and `old_user`. */
  users: 0 | 1 | 2;
  /** Where each record's identifier sits, for the types that have records. */
  identifier?: readonly string[];
  build(userIds: readonly unknown[]): JsonObject;
}

const now = Date.UTC(2026, 10, 22, 12, 0, 0);
const seed = 'property-tests';
const placeholder = fixtures.terraUser({ userId: 'template-user', provider: 'WITHINGS', referenceId: 'ref-1', scopes: 'activity,sleep' });
const userWith = (userId: unknown): JsonObject => ({ ...(placeholder as unknown as JsonObject), user_id: userId as Json });
const version = fixtures.TERRA_API_VERSION;

/** A fixture computed once, copied (and given its user) per case. */
function fromFixture(name: string, identifier: readonly string[] | undefined, make: () => unknown): EventTemplate {
  let cached: string | undefined;
  return {
    name,
    users: 1,
    identifier,
    build: ([userId]) => {
      cached ??= JSON.stringify(make());
      const event = JSON.parse(cached) as JsonObject;
      event.user = userWith(userId);
      return event;
    },
  };
}

function handWritten(
  name: string,
  users: 0 | 1 | 2,
  identifier: readonly string[] | undefined,
  make: (users: JsonObject[]) => JsonObject,
): EventTemplate {
  return { name, users, identifier, build: (userIds) => make(userIds.map(userWith)) };
}

const summaryId = ['metadata', 'summary_id'];
const startTime = ['metadata', 'start_time'];
const day = '2026-11-21';

export const eventTemplates: readonly EventTemplate[] = [
  // Records, from the simulator's fixtures.
  fromFixture('daily (Withings)', startTime, () => fixtures.withingsDaily({ user: placeholder, date: day, seed })),
  fromFixture('body (Withings)', startTime, () => fixtures.withingsBody({ user: placeholder, date: day, seed })),
  fromFixture('body (Dexcom CGM)', startTime, () => fixtures.dexcomBody({ user: placeholder, date: day, seed, samples: 12 })),
  fromFixture('sleep (Withings)', summaryId, () => fixtures.withingsSleep({ user: placeholder, nightOf: '2026-11-20', seed })),
  fromFixture('activity (Withings)', summaryId, () =>
    fixtures.withingsActivity({ user: placeholder, start: now - 86_400_000, seed, durationSeconds: 600 }),
  ),
  fromFixture('activity (Xert)', summaryId, () =>
    fixtures.xertActivity({ user: placeholder, start: now - 86_400_000, seed, durationSeconds: 300, sampleIntervalSeconds: 10 }),
  ),
  fromFixture('activity (Xoss)', summaryId, () =>
    fixtures.xossActivity({ user: placeholder, start: now - 86_400_000, seed, durationSeconds: 300, sampleIntervalSeconds: 10 }),
  ),
  // Records of the types the fixtures do not build.
  handWritten('nutrition', 1, startTime, ([user]) => ({
    type: 'nutrition',
    user,
    version,
    data: [
      {
        metadata: { start_time: '2026-11-21T12:30:00.000000+01:00', end_time: '2026-11-21T13:00:00.000000+01:00' },
        summary: { macros: { calories: 640 } },
      },
    ],
  })),
  handWritten('menstruation', 1, startTime, ([user]) => ({
    type: 'menstruation',
    user,
    version,
    data: [
      {
        metadata: { start_time: '2026-11-01T00:00:00+00:00', end_time: '2026-11-02T00:00:00+00:00' },
        menstruation_data: { period_length_days: 5 },
      },
    ],
  })),
  handWritten('planned_workout', 1, ['planned_workout_id'], ([user]) => ({
    type: 'planned_workout',
    user,
    version,
    data: [{ planned_workout_id: 'pw-1', planned_date: '2026-11-25', steps: [{ type: 'interval', duration_s: 600 }] }],
  })),
  handWritten('hormone', 1, ['timestamp'], ([user]) => ({
    type: 'hormone',
    user,
    version,
    data: [
      { timestamp: '2026-05-07T08:00:00+02:00', lh_mIU_per_ml: 5.2 },
      { timestamp: '2026-05-08T08:00:00+02:00', lh_mIU_per_ml: 6.1 },
    ],
  })),
  handWritten('health_observation', 1, summaryId, ([user]) => ({
    type: 'health_observation',
    user,
    version,
    data: [{ metadata: { summary_id: '7C3A5D9E-1F42-4B5A-9C1D-2E8F0A6B4C3D', start_time: '2026-11-21T10:00:00+01:00' }, value: 98.6 }],
  })),
  handWritten('daily with enrichment', 1, startTime, ([user]) => ({
    type: 'daily',
    user,
    version,
    data: [
      {
        metadata: { start_time: '2026-11-21T00:00:00.000000+01:00', upload_type: 1 },
        data_enrichment: { readiness_score: null, stress_score: 41 },
      },
    ],
  })),
  handWritten('activity delete', 1, summaryId, ([user]) => ({
    type: 'activity',
    user,
    version,
    data: [{ metadata: { summary_id: 'run-1', start_time: '2026-11-21T07:00:00+01:00', upload_type: 4 } }],
  })),
  handWritten(
    'athlete',
    1,
    undefined,
    ([user]) =>
      fixtures.athleteEvent({ user: user as never, athlete: { first_name: 'Alex', last_name: 'Demo', country: 'France' } }) as JsonObject,
  ),
  // Connection changes.
  handWritten('auth', 1, undefined, ([user]) => fixtures.authEvent({ user: user as never, widgetSessionId: 'widget-1' }) as JsonObject),
  handWritten('deauth', 1, undefined, ([user]) => fixtures.deauthEvent({ user: user as never }) as JsonObject),
  handWritten('access_revoked', 1, undefined, ([user]) => fixtures.accessRevokedEvent({ user: user as never }) as JsonObject),
  handWritten('connection_error', 1, undefined, ([user]) => fixtures.connectionErrorEvent({ user: user as never }) as JsonObject),
  handWritten('google_no_datasource', 1, undefined, ([user]) => ({ type: 'google_no_datasource', user, status: 'warning', version })),
  handWritten(
    'permission_change',
    1,
    undefined,
    ([user]) => fixtures.permissionChangeEvent({ user: user as never, scopesAdded: 'sleep', scopesRemoved: 'activity' }) as JsonObject,
  ),
  handWritten(
    'user_reauth',
    2,
    undefined,
    ([newUser, oldUser]) => fixtures.userReauthEvent({ newUser: newUser as never, oldUser: oldUser as never }) as JsonObject,
  ),
  handWritten('auth_cancelled', 0, undefined, () => fixtures.authCancelledEvent({ referenceId: 'ref-1' }) as JsonObject),
  // Recorded events, lab reports, an unknown type.
  handWritten('healthcheck', 0, undefined, () => fixtures.healthcheckEvent({ now }) as JsonObject),
  handWritten(
    'large_request_processing',
    1,
    undefined,
    ([user]) => fixtures.largeRequestProcessingEvent({ user: user as never, reference: 'backfill-1' }) as JsonObject,
  ),
  handWritten(
    'large_request_sending',
    1,
    undefined,
    ([user]) => fixtures.largeRequestSendingEvent({ user: user as never, reference: 'backfill-1', expectedPayloads: 3 }) as JsonObject,
  ),
  handWritten(
    'rate_limit_hit',
    1,
    undefined,
    ([user]) =>
      fixtures.rateLimitHitEvent({ user: user as never, startDate: '2026-11-01', endDate: '2026-11-02', retryingAt: now }) as JsonObject,
  ),
  handWritten('processing', 1, undefined, ([user]) => ({ type: 'processing', user, status: 'processing', version })),
  handWritten('lab_report.completed', 0, undefined, () => ({
    type: 'lab_report.completed',
    data: { session_id: 'session-1', reference_id: 'ref-1' },
    version,
  })),
  handWritten('unknown type', 1, undefined, ([user]) => fixtures.unknownEvent({ user: user as never }) as JsonObject),
];

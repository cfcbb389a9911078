import { userAttributes } from '../../lambdas/shared/attributes';
import { identify } from '../../lambdas/consumer/record-identity';
import { routeBody } from '../../lambdas/consumer/route';

const user = { user_id: 'u-1', provider: 'WITHINGS', reference_id: 'ref-1', scopes: 'activity', active: true };
const route = (body: unknown) => routeBody(JSON.stringify(body));

describe('identify: the record identifiers of docs/terra.md §4', () => {
  it.each([
    ['activity', { metadata: { summary_id: 'act-1', start_time: '2026-11-21T07:00:00+01:00' } }, 'act-1'],
    ['sleep', { metadata: { summary_id: 'sl-1', start_time: '2026-11-21T23:00:00+01:00' } }, 'sl-1'],
    ['health_observation', { metadata: { summary_id: 'obs-1', start_time: '2026-11-21T10:00:00+01:00' } }, 'obs-1'],
    ['planned_workout', { planned_workout_id: 'pw-9', planned_date: '2026-11-25', metadata: { summary_id: 'old' } }, 'pw-9'],
    ['planned_workout', { planned_workout_id: null, metadata: { summary_id: 'pw-1' } }, 'pw-1'],
    ['planned_workout', { metadata: { id: 'pw-new' } }, 'pw-new'],
    ['hormone', { timestamp: '2026-05-07T08:00:00+02:00', lh_mIU_per_ml: 5.2 }, '2026-05-07T08:00:00+02:00'],
    ['daily', { metadata: { start_time: '2026-11-21T00:00:00.000000+01:00' } }, '2026-11-21'],
    ['body', { metadata: { start_time: '2026-11-21T00:00:00.000000-08:00' } }, '2026-11-21'],
    ['menstruation', { metadata: { start_time: '2026-11-01T00:00:00+00:00' } }, '2026-11-01'],
    ['nutrition', { metadata: { start_time: '2026-11-21T12:30:00.000000+01:00' } }, '2026-11-21T12:30:00.000000+01:00'],
  ] as const)('%s is keyed on %j', (type, record, expected) => {
    expect(identify(type, record)).toMatchObject({ ok: true, identifier: expected });
  });

  it('keeps the date as Terra wrote it, without converting the timezone', () => {
    expect(identify('daily', { metadata: { start_time: '2026-11-21T23:30:00-10:00' } })).toMatchObject({ identifier: '2026-11-21' });
  });

  it.each([
    ['sleep', { metadata: { summary_id: null } }, 'metadata.summary_id'],
    ['activity', { metadata: { summary_id: '' } }, 'metadata.summary_id'],
    ['daily', {}, 'metadata.start_time'],
    ['planned_workout', { planned_workout_id: null, details: null }, 'planned_workout_id'],
    ['hormone', { lh_mIU_per_ml: 5 }, 'timestamp'],
  ] as const)('a %s without its identifier names the missing field', (type, record, field) => {
    expect(identify(type, record)).toMatchObject({ ok: false, field });
  });

  it('sorts a planned workout by its planned date, a hormone sample by its time', () => {
    expect(identify('planned_workout', { planned_workout_id: 'p', planned_date: '2026-11-25' })).toMatchObject({ startTime: '2026-11-25' });
    expect(identify('hormone', { timestamp: '2026-05-07T08:00:00+02:00' })).toMatchObject({ startTime: '2026-05-07T08:00:00+02:00' });
  });
});

describe('routeBody', () => {
  it('turns each record of a data event into one record id', () => {
    const result = route({
      type: 'activity',
      user,
      version: '2022-03-16',
      data: [
        { metadata: { summary_id: 'a', start_time: 's1', end_time: 'e1' } },
        { metadata: { summary_id: 'b', start_time: 's2', end_time: 'e2' } },
      ],
    });
    expect(result.kind).toBe('data');
    if (result.kind !== 'data') return;
    expect(result.records.map((record) => record.recordId)).toEqual(['activity#a', 'activity#b']);
    expect(result.records[0]).toMatchObject({ startTime: 's1', endTime: 'e1', summaryId: 'a' });
  });

  it('keeps unknown fields of a record untouched', () => {
    const record = { metadata: { summary_id: 'a' }, brand_new_field: { nested: [1, 2] } };
    const result = route({ type: 'sleep', user, data: [record] });
    expect(result.kind === 'data' && result.records[0].record).toEqual(record);
  });

  it('stores the athlete profile under one record id per user', () => {
    const result = route({ type: 'athlete', user, athlete: { first_name: 'Ada' } });
    expect(result).toMatchObject({ kind: 'data', records: [{ recordId: 'athlete#profile', record: { first_name: 'Ada' } }] });
  });

  it.each([
    ['auth', { type: 'auth', status: 'success', user }, [{ status: 'connected', active: true }]],
    ['failed auth', { type: 'auth', status: 'error', user }, [{ status: 'auth_failed', active: false }]],
    ['deauth', { type: 'deauth', status: 'success', user }, [{ status: 'deauthenticated', active: false }]],
    ['access_revoked', { type: 'access_revoked', user }, [{ status: 'access_revoked', active: false }]],
    [
      'connection_error',
      { type: 'connection_error', user: { ...user, active: undefined } },
      [{ status: 'connection_error', active: false }],
    ],
    ['google_no_datasource', { type: 'google_no_datasource', user }, [{ status: 'no_datasource' }]],
  ])('routes %s to a user state change', (_label, body, changes) => {
    expect(route(body)).toMatchObject({ kind: 'connection', changes });
  });

  it('keeps the status on a permission change and records the scopes', () => {
    const result = route({
      type: 'permission_change',
      user: { ...user, scopes: 'activity,sleep' },
      scopes_added: 'sleep',
      scopes_removed: '',
    });
    expect(result).toMatchObject({ kind: 'connection', changes: [{ scopes: 'activity,sleep', extra: { scopes_added: 'sleep' } }] });
    expect(result.kind === 'connection' && result.changes[0].status).toBeUndefined();
  });

  it('marks the old user of a user_reauth replaced, pointing at the new one', () => {
    const result = route({
      type: 'user_reauth',
      status: 'warning',
      message: 'm',
      new_user: { ...user, user_id: 'new' },
      old_user: { ...user, user_id: 'old' },
    });
    expect(result).toMatchObject({
      kind: 'connection',
      changes: [
        { userId: 'new', status: 'connected', extra: { [userAttributes.replaces]: 'old' } },
        { userId: 'old', status: 'replaced', active: false, extra: { [userAttributes.replacedBy]: 'new' } },
      ],
    });
  });

  it.each([
    ['large_request_sending', { type: 'large_request_sending', user, reference: 'r', expected_payloads: 3 }],
    ['healthcheck', { type: 'healthcheck', status: 'success' }],
    ['rate_limit_hit', { type: 'rate_limit_hit' }],
    ['auth_cancelled', { type: 'auth_cancelled', status: 'error', reason: 'user closed the widget' }],
  ])('keeps %s as a recorded event', (type, body) => {
    expect(route(body)).toMatchObject({ kind: 'event', type, outcome: 'recorded' });
  });

  it('keeps an unknown type, with its user when it has one', () => {
    expect(route({ type: 'sleep_score_v9', user })).toMatchObject({ kind: 'event', outcome: 'unknown_type', userId: 'u-1' });
  });

  it.each(['lab_report.completed', 'lab_report.failed'])('keeps %s as recorded, with its session and reference', (type) => {
    const body = { type, event_id: 'evt_1', occurred_at: '2026-07-01T09:12:33Z', data: { session_id: '2974', reference_id: 'patient-1' } };
    expect(route(body)).toMatchObject({
      kind: 'event',
      type,
      outcome: 'recorded',
      attributes: { session_id: '2974', reference_id: 'patient-1' },
    });
    expect(route(body)).not.toHaveProperty('userId');
  });

  it('reads an odd value in a user field that is no key as absent, and still stores the records', () => {
    const result = route({
      type: 'sleep',
      user: { ...user, scopes: ['activity'], active: 'yes' },
      data: [{ metadata: { summary_id: 's' } }],
    });
    expect(result).toMatchObject({
      kind: 'data',
      records: [{ recordId: 'sleep#s' }],
      user: { user_id: 'u-1', scopes: undefined, active: undefined },
    });
  });

  it('routes each hormone sample to a record of its own', () => {
    const data = [
      { timestamp: '2026-05-07T08:00:00+02:00', lh_mIU_per_ml: 5.2 },
      { timestamp: '2026-05-08T08:00:00+02:00', lh_mIU_per_ml: null },
    ];
    const result = route({ type: 'hormone', user, data, version: '2022-03-16' });
    expect(result).toMatchObject({
      kind: 'data',
      records: [{ recordId: 'hormone#2026-05-07T08:00:00+02:00', record: data[0] }, { recordId: 'hormone#2026-05-08T08:00:00+02:00' }],
    });
  });

  it('stores the good records of a delivery and names each refused one by index and field', () => {
    const data = [
      { metadata: { summary_id: 'ok-1' } },
      { metadata: { summary_id: null } },
      { metadata: { summary_id: 'ok-2' } },
      'not a record',
    ];
    const result = route({ type: 'sleep', user, data });
    expect(result).toMatchObject({
      kind: 'data',
      records: [{ recordId: 'sleep#ok-1' }, { recordId: 'sleep#ok-2' }],
      refused: { count: 2 },
    });
    const reason = result.kind === 'data' ? result.refused?.reason : '';
    expect(reason).toMatch(/^2 of 4 records refused: data\.1\.metadata\.summary_id: .*; data\.3: /);
  });

  it('keeps a data event whose only record lacks its identifier as invalid, saying which field', () => {
    const result = route({ type: 'activity', user, data: [{ metadata: { start_time: 'x' } }] });
    expect(result).toMatchObject({ kind: 'event', outcome: 'invalid', userId: 'u-1' });
    expect(result.kind === 'event' && result.reason).toMatch(/data\.0\.metadata\.summary_id/);
  });

  it('keeps a data event without a user as invalid', () => {
    expect(route({ type: 'body', data: [] })).toMatchObject({ kind: 'event', outcome: 'invalid' });
  });

  it.each([
    ['not JSON', 'this is not json'],
    ['JSON without a type', '{"data":[]}'],
    ['a JSON array', '[1,2]'],
    ['JSON null', 'null'],
  ])('keeps %s as unparseable', (_label, raw) => {
    expect(routeBody(raw)).toMatchObject({ kind: 'event', outcome: 'unparseable' });
  });
});

import { accountStep, syncStep } from '../../lib/tools/doctor/advice';
import { bodyNamesUser } from '../../lib/tools/doctor/dead-letters';
import { commands, diagnose, findGaps, lastDelivery, shellWord, staleAfterDays } from '../../lib/tools/doctor/diagnose';
import type { RecordSummary, UserFacts } from '../../lib/tools/doctor/facts';
import { describeConnectionBody } from '../../lib/tools/doctor/history';
import { userAttributes } from '../../lambdas/shared/attributes';

const now = new Date('2026-11-22T10:00:00Z');

/** A terra-users item from its fields by their names in attributes.ts. */
const userItem = (fields: Partial<Record<keyof typeof userAttributes, unknown>>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(fields).map(([field, value]) => [userAttributes[field as keyof typeof userAttributes], value]));

function facts(overrides: Partial<UserFacts> = {}): UserFacts {
  return {
    userId: 'u-1',
    user: userItem({
      userId: 'u-1',
      provider: 'WITHINGS',
      referenceId: 'app-1',
      status: 'connected',
      active: true,
      lastEventType: 'auth',
      updatedAt: '2026-11-01T08:00:00.000Z',
    }),
    archive: { available: true, since: '2026-10-23', deliveries: [], truncated: false },
    connectionEvents: [],
    records: [],
    kept: { events: [], total: 0, byOutcome: {} },
    backfills: [],
    deadLetters: [],
    ...overrides,
  };
}

const summary = (type: string, date: string, count = 1): RecordSummary => ({
  type,
  count,
  newest: { recordId: `${type}#${date}`, startTime: `${date}T00:00:00+01:00`, receivedAt: `${date}T09:00:00.000Z`, provider: 'WITHINGS' },
});

const texts = (diagnosis: ReturnType<typeof diagnose>) => diagnosis.findings.map((finding) => `${finding.severity}: ${finding.text}`);

describe('doctor: gaps', () => {
  it('finds a type that stopped while others kept arriving, and prints the exact backfill command for it', () => {
    const diagnosis = diagnose(
      facts({ records: [summary('activity', '2026-11-21'), summary('sleep', '2026-11-21'), summary('daily', '2026-11-12', 30)] }),
      { now },
    );
    expect(diagnosis.gaps).toEqual([{ type: 'daily', from: '2026-11-12', to: '2026-11-22', newest: '2026-11-12', daysBehind: 10 }]);
    expect(texts(diagnosis)).toContainEqual(
      expect.stringMatching(/^warning: Gap: no daily since 2026-11-12 \(10 days\) while (activity|sleep) arrived up to 2026-11-21/),
    );
    expect(diagnosis.nextSteps).toEqual([
      expect.stringContaining('npm run backfill -- --user u-1 --type daily --from 2026-11-12 --to 2026-11-22'),
    ]);
  });

  it('passes --stack and --region on to the command', () => {
    const diagnosis = diagnose(facts({ records: [summary('activity', '2026-11-21'), summary('daily', '2026-11-12')] }), {
      now,
      stack: 'TerraIngest',
      region: 'eu-west-2',
    });
    expect(diagnosis.nextSteps[0]).toMatch(/--type daily --from 2026-11-12 --to 2026-11-22 --stack TerraIngest --region eu-west-2$/);
  });

  it(`takes a type ${staleAfterDays} days behind for normal, one day more for a gap`, () => {
    expect(findGaps(facts({ records: [summary('activity', '2026-11-21'), summary('daily', '2026-11-19')] }), now).gaps).toEqual([]);
    expect(findGaps(facts({ records: [summary('activity', '2026-11-21'), summary('daily', '2026-11-18')] }), now).gaps).toMatchObject([
      { type: 'daily', daysBehind: 4 },
    ]);
  });

  it('never proposes a backfill for a type Terra cannot send again, nor lets a future planned workout pass for fresh data', () => {
    const found = findGaps(
      facts({ records: [summary('planned_workout', '2026-12-01'), summary('hormone', '2026-10-01'), summary('daily', '2026-11-01')] }),
      now,
    );
    expect(found.gaps.map((gap) => gap.type)).toEqual(['daily']);
    // hormone (2026-10-01) and daily (2026-11-01) are all that happened: everything is old.
    expect(found.silentSince).toBe('2026-11-01');
  });

  it('when every type is old, says the device has not synced and puts the sync and the account check before any backfill', () => {
    const diagnosis = diagnose(
      facts({ records: [summary('activity', '2026-11-01'), summary('sleep', '2026-11-02')], athlete: { providerUserId: 'withings-42' } }),
      { now },
    );
    expect(texts(diagnosis)).toContainEqual(
      expect.stringMatching(/^problem: Nothing newer than 2026-11-02 \(20 days ago\) of any type: .*not synced to WITHINGS's cloud/),
    );
    expect(diagnosis.nextSteps[0]).toMatch(/^Ask the user to sync: open the WITHINGS app/);
    expect(diagnosis.nextSteps[1]).toMatch(/Terra sees WITHINGS user withings-42/);
    expect(diagnosis.nextSteps[2]).toContain('npm run backfill -- --user u-1 --type activity --from 2026-11-01 --to 2026-11-22');
    expect(diagnosis.nextSteps[2]).toContain('npm run backfill -- --user u-1 --type sleep --from 2026-11-02 --to 2026-11-22');
  });

  it('with no record at all, asks for a sync, the account check and every type since the connection', () => {
    const diagnosis = diagnose(facts(), { now });
    expect(texts(diagnosis)).toContain('problem: No records stored for this user.');
    expect(diagnosis.nextSteps[0]).toMatch(/^Ask the user to sync/);
    expect(diagnosis.nextSteps[1]).toContain('npm run backfill -- --user u-1 --type athlete');
    expect(diagnosis.nextSteps[2]).toContain('npm run backfill -- --user u-1 --type all --from 2026-11-01 --to 2026-11-22');
  });

  it('says the data is current when nothing is missing, and still points at the app and the account', () => {
    const diagnosis = diagnose(facts({ records: [summary('daily', '2026-11-21'), summary('sleep', '2026-11-21')] }), { now });
    expect(diagnosis.gaps).toEqual([]);
    expect(texts(diagnosis)).toContainEqual(expect.stringMatching(/^ok: Data is current: newest (daily|sleep) from 2026-11-21/));
    expect(diagnosis.nextSteps[0]).toMatch(/^Nothing is missing on this stack's side/);
  });
});

describe('doctor: the connection', () => {
  it('a deauthenticated user: says so, next step reconnect, and no backfill for a connection that is gone', () => {
    const user = userItem({
      userId: 'u-1',
      provider: 'XOSS',
      referenceId: 'app-1',
      status: 'deauthenticated',
      active: false,
      lastEventType: 'deauth',
      updatedAt: '2026-11-10T08:00:00.000Z',
    });
    const diagnosis = diagnose(facts({ user, records: [summary('activity', '2026-11-09'), summary('daily', '2026-10-01')] }), { now });
    expect(texts(diagnosis)[0]).toBe(
      'problem: Deauthenticated: the user disconnected XOSS (deauth at 2026-11-10T08:00:00.000Z). Terra sends nothing more for this user_id.',
    );
    expect(diagnosis.nextSteps).toHaveLength(1);
    expect(diagnosis.nextSteps[0]).toMatch(/^Ask the user to connect XOSS again/);
    expect(diagnosis.nextSteps[0]).toContain('npm run doctor -- app-1');
    expect(diagnosis.gaps).toEqual([]);
    expect(texts(diagnosis)).toContain('ok: Records are stored up to 2026-11-09 (activity).');
  });

  it.each([
    ['access_revoked', /^problem: Access revoked/],
    ['connection_error', /^problem: Connection error .*401\/403\/412/],
    ['auth_failed', /^problem: The connection never completed/],
  ])('%s: a problem, next step reconnect', (status, finding) => {
    const diagnosis = diagnose(facts({ user: userItem({ userId: 'u-1', provider: 'GARMIN', status }) }), { now });
    expect(texts(diagnosis)[0]).toMatch(finding);
    expect(diagnosis.nextSteps[0]).toMatch(/^Ask the user to connect GARMIN again/);
  });

  it('a replaced user points at the new one', () => {
    const diagnosis = diagnose(facts({ user: userItem({ userId: 'u-1', status: 'replaced', replacedBy: 'u-2' }) }), { now, stack: 'Prod' });
    expect(diagnosis.nextSteps[0]).toBe('Look at the new connection: npm run doctor -- u-2 --stack Prod');
  });

  it('a user without a connection item is still diagnosed, with a warning that its status is unknown', () => {
    const diagnosis = diagnose(facts({ user: undefined, records: [summary('daily', '2026-11-21')] }), { now });
    expect(texts(diagnosis)[0]).toMatch(/^warning: No connection event \(auth\) is stored/);
  });
});

describe('doctor: what was received and not stored', () => {
  it('dead letters of the user: a problem, and redrive once the cause is fixed', () => {
    const diagnosis = diagnose(
      facts({
        records: [summary('daily', '2026-11-21')],
        deadLetters: [
          {
            queue: 'webhook',
            holds: 'deliveries',
            examined: 3,
            approximateTotal: 3,
            capped: false,
            unreadClaimChecks: 0,
            messages: [{ messageId: 'm1', type: 'activity', sentAt: '2026-11-21T07:00:00.000Z', via: 'body' }],
          },
          {
            queue: 'S3 destination',
            holds: 'deliveries',
            examined: 0,
            approximateTotal: 0,
            capped: false,
            unreadClaimChecks: 0,
            messages: [],
          },
        ],
      }),
      { now, stack: 'TerraIngest' },
    );
    expect(texts(diagnosis)[1]).toMatch(/^problem: 1 delivery of this user in the dead-letter queue \(webhook\)/);
    expect(diagnosis.nextSteps[0]).toMatch(/then move them back: npm run redrive -- --stack TerraIngest$/);
  });

  it('an erase request of the user in the erase-on-deauth dead-letter queue: the data is still there; a deauth on such a stack will erase it', () => {
    const erasures = {
      queue: 'erase on deauth',
      holds: 'erase requests' as const,
      examined: 1,
      approximateTotal: 1,
      capped: false,
      unreadClaimChecks: 0,
    };
    const user = userItem({
      userId: 'u-1',
      provider: 'XOSS',
      status: 'deauthenticated',
      lastEventType: 'deauth',
      updatedAt: '2026-11-10T08:00:00.000Z',
    });
    const failed = diagnose(
      facts({ user, deadLetters: [{ ...erasures, messages: [{ messageId: 'm1', type: 'erase request (deauth)', via: 'body' }] }] }),
      { now },
    );
    expect(texts(failed)).toContain(
      "warning: This stack erases users on deauth (eraseOnDeauth): this user's data is erased 15 minutes after the deauth.",
    );
    expect(texts(failed)).toContain(
      "warning: An erase of this user (erase request (deauth)) failed and waits in the erase-on-deauth dead-letter queue: the user's data is still stored.",
    );
    expect(texts(failed).some((finding) => /deliver(y|ies) of this user in the dead-letter queue/.test(finding))).toBe(false);
    expect(bodyNamesUser(JSON.stringify({ user_id: 'u-1', trigger: 'deauth', requested_at: 'x' }), 'u-1')).toEqual({
      named: true,
      type: 'erase request (deauth)',
      via: 'body',
    });
  });

  it('says when a dead-letter queue was only partly examined', () => {
    const diagnosis = diagnose(
      facts({
        deadLetters: [
          {
            queue: 'webhook',
            holds: 'deliveries',
            examined: 1000,
            approximateTotal: 5000,
            capped: true,
            unreadClaimChecks: 2,
            messages: [],
          },
        ],
      }),
      { now },
    );
    expect(texts(diagnosis)).toContainEqual(expect.stringMatching(/only the first 1000 of ~5000 messages/));
    expect(texts(diagnosis)).toContainEqual(expect.stringMatching(/2 claim-checked bodies were not read/));
  });

  it('invalid bodies: reprocess (dry run first); refused by storage: replay that day from the archive', () => {
    const diagnosis = diagnose(
      facts({
        records: [summary('daily', '2026-11-21')],
        kept: {
          total: 3,
          byOutcome: { invalid: 2, rejected_by_storage: 1 },
          events: [
            {
              eventId: 'e1',
              type: 'sleep',
              outcome: 'invalid',
              reason: '1 of 1 records refused: data.0.metadata.summary_id',
              receivedAt: '2026-11-20T06:00:00.000Z',
            },
            {
              eventId: 'e2',
              type: 'activity',
              outcome: 'rejected_by_storage',
              reason: 'DynamoDB refused',
              receivedAt: '2026-11-19T23:59:00.000Z',
            },
            { eventId: 'e3', type: 'sleep', outcome: 'invalid', reason: 'x', receivedAt: '2026-11-18T06:00:00.000Z' },
          ],
        },
      }),
      { now },
    );
    expect(texts(diagnosis)).toContainEqual(
      expect.stringMatching(
        /^problem: 2 deliveries of this user kept as invalid, .*newest: sleep at 2026-11-20T06:00:00.000Z: 1 of 1 records refused/,
      ),
    );
    expect(diagnosis.nextSteps).toContainEqual(expect.stringContaining('npm run reprocess -- --outcome invalid --type sleep --dry-run'));
    expect(diagnosis.nextSteps).toContainEqual(expect.stringContaining('npm run replay -- --from 2026-11-19 --to 2026-11-20 --user u-1'));
  });

  it('a backfill in flight: wait while it progresses, stalled after a day without news; complete or unannounced ones are no finding', () => {
    const backfill = {
      reference: 'ref-1',
      announced: true,
      expected: 3,
      received: 1,
      firstSeen: '2026-11-22T09:00:00.000Z',
      updatedAt: '2026-11-22T09:30:00.000Z',
    };
    const recent = diagnose(
      facts({
        records: [summary('daily', '2026-11-21')],
        backfills: [backfill, { ...backfill, reference: 'done', received: 3 }, { reference: 'plain', announced: false, received: 2 }],
      }),
      { now },
    );
    expect(texts(recent).filter((finding) => /Backfill/.test(finding))).toEqual([
      'warning: Backfill ref-1 in flight: 1 of 3 data events, last news 2026-11-22T09:30:00.000Z.',
    ]);
    expect(recent.nextSteps[0]).toMatch(/^Wait for backfill ref-1 to finish .*npm run inspect -- --request ref-1/);

    const stalled = diagnose(facts({ backfills: [{ ...backfill, expected: undefined, updatedAt: '2026-11-20T09:30:00.000Z' }] }), { now });
    expect(texts(stalled)).toContainEqual(
      expect.stringMatching(/^problem: Backfill ref-1 in flight: 1 data events so far, count not announced yet .*stalled/),
    );
  });
});

describe('doctor: helpers', () => {
  it('the last delivery comes from the archive index, else from the newest time the tables hold', () => {
    const archived = facts({
      archive: {
        available: true,
        since: '2026-10-23',
        truncated: false,
        deliveries: [{ type: 'body', receivedAt: '2026-11-22T09:00:00.000Z', key: 'archive/k' }],
      },
    });
    expect(lastDelivery(archived)).toEqual({ at: '2026-11-22T09:00:00.000Z', type: 'body', source: 'archive' });
    expect(lastDelivery(facts({ records: [summary('daily', '2026-11-21')] }))).toEqual({
      at: '2026-11-21T09:00:00.000Z',
      type: 'daily',
      source: 'tables',
    });
  });

  it('finds the user in a Terra body, a user_reauth, an S3 notification key, and not in a Ping', () => {
    expect(bodyNamesUser(JSON.stringify({ type: 'activity', user: { user_id: 'u-1' } }), 'u-1')).toEqual({
      named: true,
      type: 'activity',
      via: 'body',
    });
    expect(
      bodyNamesUser(JSON.stringify({ type: 'user_reauth', new_user: { user_id: 'u-2' }, old_user: { user_id: 'u-1' } }), 'u-1').named,
    ).toBe(true);
    expect(bodyNamesUser(JSON.stringify({ type: 'activity', user: { user_id: 'u-10' } }), 'u-1').named).toBe(false);
    const notification = {
      Records: [{ eventSource: 'aws:s3', s3: { object: { key: '2022-03-16/activity/u-1-2026-03-12T06%3A00%3A00Z.json' } } }],
    };
    expect(bodyNamesUser(JSON.stringify(notification), 'u-1')).toEqual({ named: true, type: 'activity', via: 's3 key' });
    expect(bodyNamesUser(JSON.stringify(notification), 'u')).toMatchObject({ named: false });
    expect(bodyNamesUser(JSON.stringify({ type: 's3_payload', url: 'https://x' }), 'u-1').named).toBe(false);
    expect(bodyNamesUser('not json', 'u-1').named).toBe(false);
  });

  it('quotes what the shell would split', () => {
    expect(shellWord('2b6a1f3e-9c1d-4e5f-8a7b-0c1d2e3f4a5b')).toBe('2b6a1f3e-9c1d-4e5f-8a7b-0c1d2e3f4a5b');
    expect(shellWord("a b'c")).toBe(`'a b'\\''c'`);
    expect(commands('a b', {}).backfill({ type: 'sleep', from: '2026-11-01', to: '2026-11-02' })).toBe(
      "npm run backfill -- --user 'a b' --type sleep --from 2026-11-01 --to 2026-11-02",
    );
  });

  it("gives Terra's provider-specific advice", () => {
    expect(syncStep('GARMIN')).toMatch(/Garmin Connect .*pull down/);
    expect(syncStep('GOOGLE')).toMatch(/30–60 minutes/);
    expect(accountStep('FREESTYLELIBRE', 'p-1', 'cmd')).toContain('https://www.libreview.com/patient/p-1/profile');
    expect(accountStep('WITHINGS', undefined, 'npm run backfill -- --user u --type athlete')).toMatch(
      /no provider_user_id is stored .*--type athlete$/,
    );
  });

  it('reads what a connection event said', () => {
    expect(
      describeConnectionBody({ type: 'permission_change', status: 'warning', message: 'changed', scopes_added: 'a', scopes_removed: null }),
    ).toEqual({
      status: 'warning',
      message: 'changed; scopes added: a',
    });
    expect(describeConnectionBody({ type: 'auth', status: 'error', reason: 'user_cancelled' })).toEqual({
      status: 'error',
      message: 'reason: user_cancelled',
    });
  });
});

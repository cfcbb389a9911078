import { verifySignature } from '../../lambdas/shared/signature';
import {
  type ActivityRecord,
  type DataEvent,
  type DexcomBodyRecord,
  authCancelledEvent,
  authEvent,
  dexcomBody,
  largeRequestSendingEvent,
  localMidnight,
  simulationScenario,
  terraTime,
  terraUser,
  unknownEvent,
  userReauthEvent,
  withingsActivity,
  xertActivity,
  xossActivity,
} from '../../lib/tools/fixtures';
import { type SimulateDeps, resolveSigningSecret, runSimulateCli, sendDeliveries } from '../../lib/tools/simulate';

const now = Date.parse('2026-11-22T10:15:00Z');
const FIVE_MINUTES = 5 * 60_000;
const dataTypes = new Set(['activity', 'body', 'daily', 'sleep']);

type AnyRecord = { metadata: Record<string, unknown> };
const dataEvents = (seed = 'unit') =>
  simulationScenario({ now, seed })
    .deliveries.map((d) => d.body)
    .filter((b): b is DataEvent => dataTypes.has(b.type));

describe('terraTime', () => {
  it('writes local wall-clock time with microseconds and the offset, as Terra does', () => {
    expect(terraTime(Date.parse('2026-11-21T00:00:00Z'))).toBe('2026-11-21T00:00:00.000000+00:00');
    expect(terraTime(Date.parse('2026-11-21T06:30:01.250Z'), -420)).toBe('2026-11-20T23:30:01.250000-07:00');
    expect(terraTime(Date.parse('2026-11-21T00:00:00Z'), 330)).toBe('2026-11-21T05:30:00.000000+05:30');
  });
});

describe('Dexcom CGM day', () => {
  const user = terraUser({ userId: 'dexcom-user', provider: 'DEXCOM' });
  const event = dexcomBody({ user, date: '2026-11-21', seed: 'cgm', utcOffsetMinutes: 60 });
  const record = event.data[0] as DexcomBodyRecord;
  const samples = record.glucose_data.blood_glucose_samples;

  it('starts at local midnight with the offset and covers one day', () => {
    expect(event).toMatchObject({ type: 'body', user: { provider: 'DEXCOM' }, version: '2022-03-16' });
    expect(record.metadata.start_time).toBe('2026-11-21T00:00:00.000000+01:00');
    expect(record.metadata.end_time).toBe('2026-11-22T00:00:00.000000+01:00');
  });

  it('holds 288 samples, five minutes apart, in order, all within that local day', () => {
    expect(samples).toHaveLength(288);
    const dayStart = localMidnight('2026-11-21', 60);
    const times = samples.map((s) => Date.parse(s.timestamp));
    expect(times[0]! - dayStart).toBeGreaterThanOrEqual(0);
    expect(times[0]! - dayStart).toBeLessThan(FIVE_MINUTES);
    for (const [i, time] of times.slice(1).entries()) expect(time - times[i]!).toBe(FIVE_MINUTES);
    expect(times.at(-1)!).toBeLessThan(dayStart + 24 * 3_600_000);
    expect(samples.every((s) => s.timestamp.startsWith('2026-11-21T') && s.timestamp.endsWith('+01:00'))).toBe(true);
  });

  it('flags and averages agree with the readings', () => {
    for (const s of samples) {
      expect(s.blood_glucose_mg_per_dL).toBeGreaterThanOrEqual(40);
      expect(s.glucose_level_flag).toBe(s.blood_glucose_mg_per_dL > 180 ? 1 : s.blood_glucose_mg_per_dL < 70 ? 2 : 0);
      expect([1, 2, 3, 4, 5]).toContain(s.trend_arrow);
    }
    const mean = samples.reduce((sum, s) => sum + s.blood_glucose_mg_per_dL, 0) / samples.length;
    expect(record.glucose_data.day_avg_blood_glucose_mg_per_dL).toBeCloseTo(mean, 1);
    expect(record.glucose_data.sensor_usage).toBe(288);
  });

  it('an earlier copy of the same day is a prefix of the full day (Terra re-sends supersets)', () => {
    const partial = dexcomBody({ user, date: '2026-11-21', seed: 'cgm', utcOffsetMinutes: 60, samples: 100 }).data[0]!;
    expect(partial.metadata.start_time).toBe(record.metadata.start_time);
    expect(partial.glucose_data.blood_glucose_samples).toEqual(samples.slice(0, 100));
  });
});

describe('activities', () => {
  const builders = { XERT: xertActivity, XOSS: xossActivity, WITHINGS: withingsActivity };

  it.each(Object.entries(builders))('%s summary_ids are unique per user', (provider, build) => {
    const user = terraUser({ userId: `${provider}-user`, provider });
    const ids = Array.from({ length: 15 }, (_, day) => {
      const start = Date.parse('2026-11-01T07:00:00Z') + day * 86_400_000 + (day % 3) * 3_600_000;
      return build({ user, start, seed: 'ids', durationSeconds: 120 }).data[0]!.metadata.summary_id;
    });
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
  });

  it('an hour of per-second heart rate whose summary matches the samples', () => {
    const user = terraUser({ userId: 'xert-user', provider: 'XERT' });
    const start = Date.parse('2026-11-21T00:30:00Z');
    const record: ActivityRecord = xertActivity({ user, start, seed: 'hr', utcOffsetMinutes: -420, durationSeconds: 3600 }).data[0]!;
    expect(record.metadata).toMatchObject({
      start_time: '2026-11-20T17:30:00.000000-07:00',
      end_time: '2026-11-20T18:30:00.000000-07:00',
      upload_type: 1,
      type: 17,
    });
    const hr = record.heart_rate_data.detailed.hr_samples;
    expect(hr).toHaveLength(3600);
    for (const [i, s] of hr.entries()) expect(Date.parse(s.timestamp)).toBe(start + i * 1000);
    const bpms = hr.map((s) => s.bpm);
    expect(record.heart_rate_data.summary).toMatchObject({ max_hr_bpm: Math.max(...bpms), min_hr_bpm: Math.min(...bpms) });
    expect(record.heart_rate_data.summary.avg_hr_bpm).toBe(Math.round(bpms.reduce((a, b) => a + b, 0) / bpms.length));
    expect(record.power_data?.power_samples).toHaveLength(3600);
    expect(record.distance_data.summary.distance_meters).toBeGreaterThan(20_000);
  });
});

describe('simulationScenario', () => {
  const scenario = simulationScenario({ now, seed: 'unit' });
  const bodies = scenario.deliveries.map((d) => d.body);

  it('every data record carries its Terra identifier', () => {
    for (const event of dataEvents()) {
      expect(event.version).toBe('2022-03-16');
      expect(event.data.length).toBeGreaterThan(0);
      for (const record of event.data as AnyRecord[]) {
        if (event.type === 'activity' || event.type === 'sleep') {
          expect(record.metadata.summary_id).toEqual(expect.stringMatching(/\S/));
        } else {
          // daily/body are keyed by the local date: start_time must be that day's midnight.
          expect(record.metadata.start_time).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00\.000000[+-]\d{2}:\d{2}$/);
        }
      }
    }
  });

  it('covers the four providers and every listed type', () => {
    const seen = new Set(dataEvents().map((e) => `${e.type}:${e.user.provider}`));
    expect([...seen].sort()).toEqual(
      ['activity:WITHINGS', 'activity:XERT', 'activity:XOSS', 'body:DEXCOM', 'body:WITHINGS', 'daily:WITHINGS', 'sleep:WITHINGS'].sort(),
    );
    const authed = bodies.filter((b) => b.type === 'auth').map((b) => (b.user as { provider: string }).provider);
    expect(new Set(authed)).toEqual(new Set(['DEXCOM', 'XERT', 'XOSS', 'WITHINGS']));
  });

  it('authorises each user before its data and deauthorises only a throwaway user, last', () => {
    const authedIds: string[] = [];
    for (const body of bodies.slice(0, -1)) {
      const userId = (body.user as { user_id: string }).user_id;
      if (body.type === 'auth') authedIds.push(userId);
      else expect(authedIds).toContain(userId);
      expect(body.type).not.toBe('deauth');
    }
    const last = bodies.at(-1)!;
    expect(last).toMatchObject({ type: 'deauth', status: 'success', user: { user_id: scenario.userIds.throwaway } });
    const main = [scenario.userIds.dexcom, scenario.userIds.xert, scenario.userIds.xoss, scenario.userIds.withings];
    expect(main).not.toContain(scenario.userIds.throwaway);
    expect(new Set(main).size).toBe(4);
    for (const id of main) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('is deterministic: same seed and time, same bytes; ids depend on the seed only', () => {
    expect(JSON.stringify(simulationScenario({ now, seed: 'unit' }))).toBe(JSON.stringify(scenario));
    expect(simulationScenario({ now: now + 86_400_000, seed: 'unit' }).userIds).toEqual(scenario.userIds);
    expect(simulationScenario({ now, seed: 'other' }).userIds.dexcom).not.toBe(scenario.userIds.dexcom);
  });
});

describe('connection and system events', () => {
  const user = terraUser({ userId: 'u-1', provider: 'WITHINGS', referenceId: 'ref-1', scopes: 'user.info' });

  it('have the fields the contract names', () => {
    expect(authEvent({ user, widgetSessionId: 'w-1' })).toMatchObject({
      type: 'auth',
      status: 'success',
      reference_id: 'ref-1',
      widget_session_id: 'w-1',
      message: expect.any(String),
    });
    expect(userReauthEvent({ oldUser: user, newUser: { ...user, user_id: 'u-2' } })).toMatchObject({
      type: 'user_reauth',
      status: 'warning',
      old_user: { user_id: 'u-1' },
      new_user: { user_id: 'u-2' },
    });
    expect(authCancelledEvent({ referenceId: 'ref-1' })).not.toHaveProperty('user');
    expect(largeRequestSendingEvent({ user, reference: 'r', expectedPayloads: 4 })).toMatchObject({ expected_payloads: 4, reference: 'r' });
    expect(unknownEvent({ user }).type).not.toMatch(/^(auth|deauth|activity|body|daily|sleep|athlete)$/);
  });
});

describe('simulate', () => {
  const recorded: { url: string; headers: Record<string, string>; body: string }[] = [];
  const deps = (status: (i: number) => number, lines: string[] = []): SimulateDeps => ({
    // A frozen clock: ordering timestamps must still increase.
    now: () => now,
    uuid: (() => {
      let n = 0;
      return () => {
        n += 1;
        return `uuid-${n}`;
      };
    })(),
    write: (line) => lines.push(line),
    fetch: (async (url: string, init: RequestInit) => {
      recorded.push({ url, headers: init.headers as Record<string, string>, body: init.body as string });
      return new Response('{}', { status: status(recorded.length - 1) });
    }) as unknown as typeof fetch,
  });

  beforeEach(() => {
    recorded.length = 0;
  });

  it('signs the exact bytes it sends, with Terra headers and increasing ordering timestamps', async () => {
    const { deliveries } = simulationScenario({ now, seed: 'unit' });
    const results = await sendDeliveries(
      deliveries.slice(0, 4),
      { url: 'http://x/webhook', secret: 's3cret' },
      deps(() => 202),
    );
    expect(results.every((r) => r.ok && r.status === 202)).toBe(true);
    const ordering = recorded.map((r) => Number(r.headers['x-terra-ordering-timestamp']));
    for (const [i, value] of ordering.slice(1).entries()) expect(value).toBeGreaterThan(ordering[i]!);
    for (const r of recorded) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['terra-reference']).not.toBe(r.headers['x-terra-trace-id']);
      const verdict = verifySignature(r.headers['terra-signature'], Buffer.from(r.body), {
        secrets: ['s3cret'],
        toleranceSeconds: 300,
        nowSeconds: now / 1000,
      });
      expect(verdict.valid).toBe(true);
    }
  });

  it('exits non-zero when any delivery is not 2xx, and prints the user ids', async () => {
    const lines: string[] = [];
    const code = await runSimulateCli(['--secret', 's'], {
      ...deps((i) => (i === 6 ? 500 : 200), lines),
      env: {},
      readFile: () => undefined,
    });
    expect(code).toBe(1);
    expect(recorded[0]!.url).toBe('http://127.0.0.1:3000/webhook');
    expect(lines.join('\n')).toMatch(/npm run inspect -- /);
    expect(lines.join('\n')).toContain(simulationScenario({ now }).userIds.xert);
  });

  it('finds the secret: flag, then TERRA_SIGNING_SECRET, then the local stack file', async () => {
    const readFile = (path: string) => (path === 'data/signing-secret' ? 'from-file\n' : undefined);
    expect(resolveSigningSecret('flag', { env: { TERRA_SIGNING_SECRET: 'a,b' }, readFile })?.secret).toBe('flag');
    expect(resolveSigningSecret(undefined, { env: { TERRA_SIGNING_SECRET: ' a , b' }, readFile })?.secret).toBe('a');
    expect(resolveSigningSecret(undefined, { env: { LOCAL_DATA_DIR: 'data' }, readFile })?.secret).toBe('from-file');
    expect(resolveSigningSecret(undefined, { env: {}, readFile })).toBeUndefined();
    const code = await runSimulateCli([], { ...deps(() => 200), env: {}, readFile });
    expect(code).toBe(1);
    expect(recorded).toHaveLength(0);
  });
});

import { eventAttributes } from '../../lambdas/shared/attributes';
import type { DeliveryOutcome } from '../../lambdas/consumer/process';
import { routeBody } from '../../lambdas/consumer/route';
import { deliveryOf, type ReprocessSummary, windowCondition } from '../../lib/tools/reprocess/run';
import { formatSummary, parseReprocessArgs, parseWindow, progressReporter, runReprocessCli, usage } from '../../lib/tools/reprocess/cli';
import { predictedVerdict, verdictOf } from '../../lib/tools/reprocess/verdict';

const iso = (date: Date | undefined) => date?.toISOString();

describe('reprocess arguments', () => {
  it('selects all three kept outcomes by default, over any time, writing', () => {
    expect(parseReprocessArgs([])).toEqual({
      outcomes: ['invalid', 'unknown_type', 'ping_fetch_failed'],
      type: undefined,
      window: {},
      dryRun: false,
      stack: undefined,
      region: undefined,
      help: false,
    });
  });

  it('reads every flag', () => {
    const args = parseReprocessArgs([
      '--outcome',
      'unknown_type',
      '--type',
      'hormone',
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
      '--dry-run',
      '--stack',
      'TerraIngest',
      '--region',
      'eu-west-2',
    ]);
    expect(args).toMatchObject({ outcomes: ['unknown_type'], type: 'hormone', dryRun: true, stack: 'TerraIngest', region: 'eu-west-2' });
    expect(iso(args.window.from)).toBe('2026-11-01T00:00:00.000Z');
    expect(iso(args.window.toExclusive)).toBe('2026-11-03T00:00:00.000Z');
  });

  it.each(['recorded', 'reprocessed', 'tracking', 'INVALID', ''])('refuses --outcome %j', (outcome) => {
    expect(() => parseReprocessArgs(['--outcome', outcome])).toThrow(
      `--outcome must be one of invalid, unknown_type, ping_fetch_failed, got "${outcome}"`,
    );
  });

  it('refuses unknown flags, positionals, --region without --stack and an empty --type', () => {
    expect(() => parseReprocessArgs(['--user', 'u-1'])).toThrow(/Unknown option '--user'/);
    expect(() => parseReprocessArgs(['invalid'])).toThrow(/positional/);
    expect(() => parseReprocessArgs(['--region', 'eu-west-2'])).toThrow('--region goes with --stack');
    expect(() => parseReprocessArgs(['--type', ''])).toThrow('--type needs a Terra type');
  });

  it('describes every flag in --help', () => {
    for (const flag of ['--outcome', '--type', '--from', '--to', '--dry-run', '--stack', '--region', '--help'])
      expect(usage).toContain(flag);
    expect(usage).toMatch(/--to .*inclusive: a date \(2026-11-22\) takes in that whole\s+UTC day/);
  });
});

describe('the received_at window', () => {
  it('makes a date --to inclusive of its whole UTC day', () => {
    const window = parseWindow('2026-11-22', '2026-11-22');
    expect(iso(window.from)).toBe('2026-11-22T00:00:00.000Z');
    expect(iso(window.toExclusive)).toBe('2026-11-23T00:00:00.000Z');
  });

  it('makes a time --to inclusive of that instant', () => {
    expect(iso(parseWindow(undefined, '2026-11-22T10:00:00Z').toExclusive)).toBe('2026-11-22T10:00:00.001Z');
    expect(iso(parseWindow(undefined, '2026-11-22T12:00:00+02:00').toExclusive)).toBe('2026-11-22T10:00:00.001Z');
  });

  it('leaves either end open', () => {
    expect(parseWindow(undefined, undefined)).toEqual({});
    expect(parseWindow('2026-11-22T10:00', undefined)).toEqual({ from: new Date('2026-11-22T10:00:00.000Z') });
  });

  it('refuses a backwards window and what is not a date or an ISO time', () => {
    expect(() => parseWindow('2026-11-23', '2026-11-22')).toThrow(
      /--from \(2026-11-23T00:00:00.000Z\) is after --to \(2026-11-22\); --to is inclusive/,
    );
    expect(() => parseWindow('yesterday', undefined)).toThrow(/--from: expected a date/);
    expect(() => parseWindow(undefined, '2026-02-30')).toThrow(/--to: expected a date/);
  });

  it('becomes a key condition on the index sort key, on ISO strings', () => {
    expect(windowCondition({})).toEqual({ expression: '', values: {} });
    expect(windowCondition(parseWindow('2026-11-22', '2026-11-22'))).toEqual({
      expression: ' AND #received_at BETWEEN :from AND :last',
      values: { ':from': '2026-11-22T00:00:00.000Z', ':last': '2026-11-22T23:59:59.999Z' },
    });
    expect(windowCondition(parseWindow('2026-11-22', undefined))).toEqual({
      expression: ' AND #received_at >= :from',
      values: { ':from': '2026-11-22T00:00:00.000Z' },
    });
    expect(windowCondition(parseWindow(undefined, '2026-11-22T10:00:00Z'))).toEqual({
      expression: ' AND #received_at <= :last',
      values: { ':last': '2026-11-22T10:00:00.000Z' },
    });
  });
});

describe('the delivery back from a kept item', () => {
  it('keeps the original ordering key, arrival and references', () => {
    const body = Buffer.from('{}');
    const item = {
      [eventAttributes.signatureTs]: 1_764_000_000,
      [eventAttributes.orderingTs]: 1_764_000_000_123,
      [eventAttributes.receivedAt]: '2026-11-22T10:00:00.000Z',
      [eventAttributes.terraReference]: 'ref',
      [eventAttributes.traceId]: 'trace',
    };
    expect(deliveryOf(item, body)).toEqual({
      body,
      signatureTimestamp: 1_764_000_000,
      orderingTimestamp: 1_764_000_000_123,
      receivedAt: '2026-11-22T10:00:00.000Z',
      terraReference: 'ref',
      traceId: 'trace',
    });
  });
});

const user = { user_id: 'u-1', provider: 'OURA' };
const hormone = JSON.stringify({ type: 'hormone', user, data: [{ timestamp: '2026-05-07T08:00:00+02:00', lh_mIU_per_ml: 5.2 }] });
const outcome = (fields: Partial<DeliveryOutcome>): DeliveryOutcome => ({
  route: 'data',
  type: 'hormone',
  written: 1,
  skipped: 0,
  ...fields,
});

describe('what a kept body became', () => {
  const kept = { outcome: 'unknown_type', reason: 'event type "hormone" is not known to this version' };

  it('is reprocessed when it became records, saying how many', () => {
    expect(verdictOf(kept, routeBody(hormone), outcome({}))).toEqual({
      change: 'reprocessed',
      outcome: 'reprocessed',
      reason: 'stored 1 hormone record',
    });
    expect(verdictOf(kept, routeBody(hormone), outcome({ written: 0, skipped: 1 })).reason).toBe(
      'stored 0 hormone records; 1 left as stored (a copy as new or newer was already there)',
    );
  });

  it('stays invalid, naming the refused records, when only some records could be stored (as a fresh delivery would be kept)', () => {
    const body = JSON.stringify({ type: 'activity', user, data: [{ metadata: { summary_id: 'a' } }, { metadata: {} }] });
    const refused = '1 of 2 records refused: data.1.metadata.summary_id: a non-empty string is required';
    const verdict = verdictOf(
      { outcome: 'invalid', reason: 'older' },
      routeBody(body),
      outcome({ type: 'activity', outcome: 'invalid', reason: refused }),
    );
    expect(verdict).toEqual({
      change: 'kept',
      outcome: 'invalid',
      reason: '1 of 2 records refused: data.1.metadata.summary_id: a non-empty string is required',
    });
    // Kept so by this version already: nothing to write.
    expect(
      verdictOf(
        { outcome: 'invalid', reason: verdict.reason },
        routeBody(body),
        outcome({ type: 'activity', outcome: 'invalid', reason: refused, written: 0, skipped: 1 }),
      ).change,
    ).toBe('unchanged');
  });

  it('is reprocessed when it became a connection change', () => {
    const auth = JSON.stringify({ type: 'auth', status: 'success', user });
    expect(verdictOf({ outcome: 'invalid' }, routeBody(auth), { route: 'connection', type: 'auth', written: 1, skipped: 0 })).toEqual({
      change: 'reprocessed',
      outcome: 'reprocessed',
      reason: 'applied auth: 1 connection state updated',
    });
  });

  it('is kept with the new outcome and reason when it is still kept', () => {
    const body = JSON.stringify({ type: 'some_future_type', user });
    const route = routeBody(body);
    const reason = 'event type "some_future_type" is not known to this version';
    expect(
      verdictOf({ outcome: 'invalid', reason: 'older' }, route, {
        route: 'event',
        type: 'some_future_type',
        outcome: 'unknown_type',
        reason,
        written: 0,
        skipped: 1,
      }),
    ).toEqual({
      change: 'kept',
      outcome: 'unknown_type',
      reason: 'event type "some_future_type" is not known to this version',
    });
  });

  it('is unchanged when outcome and reason are the same: a second run writes nothing', () => {
    const route = routeBody(JSON.stringify({ type: 'some_future_type', user }));
    const same = { outcome: 'unknown_type', reason: 'event type "some_future_type" is not known to this version' };
    expect(
      verdictOf(same, route, {
        route: 'event',
        type: 'some_future_type',
        outcome: 'unknown_type',
        reason: same.reason,
        written: 0,
        skipped: 1,
      }).change,
    ).toBe('unchanged');
  });

  it('records why a Ping download failed again, and writes nothing when the reason is the same', () => {
    const wrapper = routeBody(JSON.stringify({ type: 's3_payload', url: 'https://terra.example/x', expires_in: 300 }));
    const failedAgain = (reason: string) => ({
      route: 'event' as const,
      type: 's3_payload',
      outcome: 'ping_fetch_failed',
      reason,
      written: 0,
      skipped: 1,
    });
    expect(
      verdictOf({ outcome: 'ping_fetch_failed', reason: 'download answered HTTP 500' }, wrapper, failedAgain('download answered HTTP 403')),
    ).toEqual({
      change: 'kept',
      outcome: 'ping_fetch_failed',
      reason: 'download answered HTTP 403',
    });
    expect(
      verdictOf({ outcome: 'ping_fetch_failed', reason: 'download answered HTTP 403' }, wrapper, failedAgain('download answered HTTP 403'))
        .change,
    ).toBe('unchanged');
  });

  it('is reprocessed when a Ping download now works', () => {
    const wrapper = routeBody(JSON.stringify({ type: 's3_payload', url: 'https://terra.example/x', expires_in: 300 }));
    expect(
      verdictOf({ outcome: 'ping_fetch_failed' }, wrapper, { route: 'data', type: 'sleep', written: 2, skipped: 0, ping: true }).reason,
    ).toBe('Ping-mode payload fetched: stored 2 sleep records');
  });

  it('is predicted from routing alone on a dry run', () => {
    expect(predictedVerdict(kept, routeBody(hormone))).toEqual({
      change: 'reprocessed',
      outcome: 'reprocessed',
      reason: 'would store 1 hormone record',
    });
    const wrapper = routeBody(JSON.stringify({ type: 's3_payload', url: 'https://terra.example/x' }));
    expect(predictedVerdict({ outcome: 'ping_fetch_failed', reason: 'HTTP 403' }, wrapper)).toMatchObject({
      change: 'unchanged',
      outcome: 'ping_fetch_failed',
    });
  });
});

describe('reprocess output', () => {
  const summary: ReprocessSummary = {
    selected: 3,
    transitions: { 'unknown_type → reprocessed': 2, 'invalid → invalid (unchanged)': 1 },
    updated: 2,
    recordsWritten: 5,
    recordsLeftAlone: 0,
    moved: 0,
    failures: [],
  };

  it('tabulates outcome before → after and the records written', () => {
    const text = formatSummary(summary, { dryRun: false }).join('\n');
    expect(text).toMatch(/invalid → invalid \(unchanged\) +1\n {2}unknown_type → reprocessed +2/);
    expect(text).toContain('Records written: 5');
    expect(text).not.toContain('Failed');
  });

  it('lists failures with what to do next, on the same stack', () => {
    const failed = {
      ...summary,
      failures: [
        {
          entry: { eventId: 'e-1', outcome: 'invalid' as const, receivedAt: '', type: 'sleep' },
          status: 'failed' as const,
          error: 'NoSuchKey',
        },
      ],
    };
    const text = formatSummary(failed, { dryRun: false, stack: 'TerraIngest', region: 'eu-west-2' }).join('\n');
    expect(text).toContain('Failed: 1 (these items are unchanged):\n  e-1  invalid  sleep: NoSuchKey');
    expect(text).toContain('same command again');
    expect(text).toContain('npm run inspect -- --events --stack TerraIngest --region eu-west-2');
  });

  it('says a dry run wrote nothing, and when nothing matched', () => {
    expect(formatSummary(summary, { dryRun: true }).join('\n')).toContain('Written:         nothing (dry run)');
    expect(formatSummary({ ...summary, selected: 0, transitions: {} }, { dryRun: false }).join('\n')).toContain('Nothing to reprocess');
  });

  it('prints a progress line every N items and at the end, or redraws a bar on a terminal', () => {
    const lines: string[] = [];
    const report = progressReporter({ write: (line) => lines.push(line) }, 2);
    for (let done = 1; done <= 5; done++) report({} as never, done, 5);
    expect(lines).toEqual(['  2/5 done', '  4/5 done', '  5/5 done']);
    const frames: string[] = [];
    const bar = progressReporter({ write: () => {}, redraw: (text) => frames.push(text) });
    bar({} as never, 1, 2);
    bar({} as never, 2, 2);
    expect(frames).toEqual([`  [${'#'.repeat(15)}${' '.repeat(15)}] 1/2`, `  [${'#'.repeat(30)}] 2/2\n`]);
  });

  it('exits 2 on a usage error and 0 on --help, without touching a stack', async () => {
    const lines: string[] = [];
    expect(await runReprocessCli(['--outcome', 'nope'], { env: {}, write: (line) => lines.push(line) })).toBe(2);
    expect(lines.join('\n')).toContain('--outcome must be one of');
    expect(await runReprocessCli(['--help'], { env: {}, write: (line) => lines.push(line) })).toBe(0);
    expect(lines.at(-1)).toBe(usage);
  });
});

import type { Delivery } from '../../lambdas/shared/delivery';
import { parseBackfillArgs, report, retryCommand, usage } from '../../lib/tools/backfill/cli';
import { runBackfill } from '../../lib/tools/backfill/run';
import { apiEndpointOf, resolveCredentials } from '../../lib/tools/backfill/target';
import { isComplete } from '../../lib/tools/backfill/wait';
import {
  type ApiResult,
  createTerraApiClient,
  type HistoryQuery,
  retryAfterMs,
  type TerraApiClient,
} from '../../lib/tools/backfill/terra-api-client';
import { type LedgerEntry, planWindows, splitDays, waitBeforeRequest, type Window } from '../../lib/tools/backfill/windows';

const midnight = (day: string) => Date.parse(`${day}T00:00:00Z`);

describe('windows', () => {
  it('reads --to as inclusive and sends the day after as end_date (exclusive)', () => {
    expect(planWindows({ types: ['sleep'], from: '2026-11-01', to: '2026-11-01' })).toEqual([
      { type: 'sleep', from: '2026-11-01', to: '2026-11-01', endDate: '2026-11-02', days: 1, mode: 'sync' },
    ]);
  });

  it('asks up to 28 days synchronously and 29 through the webhook', () => {
    expect(splitDays(midnight('2026-01-01'), midnight('2026-01-28'))).toMatchObject([{ days: 28, mode: 'sync' }]);
    expect(splitDays(midnight('2026-01-01'), midnight('2026-01-29'))).toMatchObject([{ days: 29, mode: 'async' }]);
  });

  it('splits a range over 1,825 days into equal parts that cover it exactly, without gaps or overlaps', () => {
    const windows = splitDays(midnight('2016-01-01'), midnight('2025-12-31'));
    expect(windows.every((window) => window.days <= 1825)).toBe(true);
    expect(windows.reduce((sum, window) => sum + window.days, 0)).toBe(3653);
    expect(windows[0]!.from).toBe('2016-01-01');
    expect(windows.at(-1)!.to).toBe('2025-12-31');
    for (let i = 1; i < windows.length; i++) expect(windows[i]!.from).toBe(windows[i - 1]!.endDate);
  });

  it('plans every type for all, the athlete profile without dates', () => {
    const windows = planWindows({ types: ['activity', 'athlete'], from: '2026-11-01', to: '2026-11-10' });
    expect(windows.map((window) => window.type)).toEqual(['activity', 'athlete']);
    expect(windows[1]).toEqual({ type: 'athlete', mode: 'sync', days: 0 });
  });

  it('refuses dates that are not calendar days, and --from after --to', () => {
    expect(() => planWindows({ types: ['daily'], from: '2026-02-30', to: '2026-03-01' })).toThrow(/--from must be a date/);
    expect(() => planWindows({ types: ['daily'], from: '2026-03-02', to: '2026-03-01' })).toThrow(/after --to/);
  });

  it('waits until enough of the last hour’s requested days have left it, and not when they fit', () => {
    const now = 10 * 3_600_000;
    const ledger = [
      { at: now - 50 * 60_000, days: 4000 },
      { at: now - 10 * 60_000, days: 1825 },
    ];
    expect(waitBeforeRequest(ledger, 175, now)).toBe(0);
    // 176 more would make 6,001: wait for the first entry to leave the hour (10 minutes).
    expect(waitBeforeRequest(ledger, 176, now)).toBe(10 * 60_000);
    expect(waitBeforeRequest([{ at: now - 61 * 60_000, days: 6000 }], 1825, now)).toBe(0);
  });
});

describe("Terra's REST API client", () => {
  const answer = (status: number, headers: Record<string, string> = {}, body = '{}') => new Response(body, { status, headers });

  function client(responses: (Response | Error)[]) {
    const pauses: number[] = [];
    const calls: string[] = [];
    const api = createTerraApiClient({
      baseUrl: 'https://api.example/v2/',
      credentials: { devId: 'dev', apiKey: 'key' },
      fetch: (async (url: string, init: RequestInit) => {
        calls.push(`${url} ${JSON.stringify(init.headers)}`);
        const next = responses.shift()!;
        if (next instanceof Error) throw next;
        return next;
      }) as typeof fetch,
      sleep: async (ms) => {
        pauses.push(ms);
      },
      now: () => 1_000_000,
      random: () => 0.5,
    });
    return { api, pauses, calls };
  }
  const query = { type: 'activity', userId: 'u1', startDate: '2026-01-01', endDate: '2026-02-01', toWebhook: true };

  it('sends user_id, the dates, to_webhook explicitly and both headers', async () => {
    const { api, calls } = client([answer(200, { 'terra-reference': 'ref-1' }, '{"reference":"ref-1"}')]);
    expect(await api.request(query)).toMatchObject({ ok: true, reference: 'ref-1', attempts: 1 });
    expect(calls[0]).toBe(
      'https://api.example/v2/activity?user_id=u1&start_date=2026-01-01&end_date=2026-02-01&to_webhook=true {"dev-id":"dev","x-api-key":"key","accept":"application/json"}',
    );
  });

  it('waits as long as Retry-After or X-Terra-RateLimit-Reset says after a 429, then succeeds', async () => {
    const { api, pauses } = client([answer(429, { 'retry-after': '3' }), answer(429, { 'x-terra-ratelimit-reset': '7' }), answer(200)]);
    expect(await api.request(query)).toMatchObject({ ok: true, attempts: 3 });
    expect(pauses).toEqual([3000, 7000]);
  });

  it('backs off exponentially after a 5xx or no answer, and gives up after the last try', async () => {
    const { api, pauses } = client([answer(502), new TypeError('fetch failed'), answer(503), answer(500), answer(500), answer(500)]);
    const result = await api.request(query);
    expect(result).toMatchObject({ ok: false, status: 500, attempts: 6 });
    expect(!result.ok && result.reason).toMatch(/HTTP 500.*gave up after 6 tries/);
    // Half fixed, half jitter (random 0.5): 750, 1500, 3000, 6000, 12000.
    expect(pauses).toEqual([750, 1500, 3000, 6000, 12000]);
  });

  it('does not retry a 400, and says what Terra said (RFC 9457 detail)', async () => {
    const problem = JSON.stringify({ type: 'about:blank', title: 'bad request', instance: '/activity', detail: 'invalid start_date' });
    const { api, pauses } = client([answer(400, { 'content-type': 'application/problem+json' }, problem)]);
    expect(await api.request(query)).toEqual({ ok: false, status: 400, reason: 'HTTP 400 bad request: invalid start_date', attempts: 1 });
    expect(pauses).toEqual([]);
  });

  it('reads Retry-After as seconds or an HTTP date, and the reset as seconds or an epoch', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Sun, 22 Nov 2026 10:00:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterMs(new Headers({ 'x-terra-ratelimit-reset': String(now / 1000 + 45) }), now)).toBe(45_000);
    expect(retryAfterMs(new Headers({}), now)).toBeUndefined();
  });
});

describe('backfill arguments', () => {
  it('needs --user and --type, and --region only with --stack', () => {
    expect(() => parseBackfillArgs(['--type', 'sleep'])).toThrow(/--user/);
    expect(() => parseBackfillArgs(['--user', 'u'])).toThrow(/--type/);
    expect(() => parseBackfillArgs(['--user', 'u', '--type', 'steps', '--from', '2026-01-01', '--to', '2026-01-02'])).toThrow(
      /--type must be one of/,
    );
    expect(() => parseBackfillArgs(['--user', 'u', '--type', 'athlete', '--region', 'eu-west-2'])).toThrow(/--region goes with --stack/);
  });

  it('prints, for a failed window, the command that asks for it again, with the same options', () => {
    const args = parseBackfillArgs([
      '--user',
      'u1',
      '--type',
      'all',
      '--from',
      '2026-01-01',
      '--to',
      '2026-03-31',
      '--wait',
      '--stack',
      'TerraIngest',
      '--region',
      'eu-west-2',
    ]);
    expect(retryCommand(args, args.windows[2]!)).toBe(
      'npm run backfill -- --user u1 --type daily --from 2026-01-01 --to 2026-03-31 --wait --stack TerraIngest --region eu-west-2',
    );
    expect(retryCommand(args, args.windows.at(-1)!)).toBe(
      'npm run backfill -- --user u1 --type athlete --wait --stack TerraIngest --region eu-west-2',
    );
  });
});

describe('credentials and the API called', () => {
  const stack = { name: 'TerraIngest', region: 'eu-west-2' };
  const sources = (value: string | undefined) => ({ secretName: async () => 'terra-api-credentials', readSecret: async () => value });

  it('takes TERRA_DEV_ID and TERRA_API_KEY first, then the stack secret, and placeholders only locally', async () => {
    const env = { TERRA_DEV_ID: 'd', TERRA_API_KEY: 'k' };
    expect(await resolveCredentials(env, stack, sources('{}'))).toEqual({
      credentials: { devId: 'd', apiKey: 'k' },
      source: 'TERRA_DEV_ID and TERRA_API_KEY',
    });
    expect((await resolveCredentials({}, stack, sources('{"dev_id":"d2","api_key":"k2"}'))).credentials).toEqual({
      devId: 'd2',
      apiKey: 'k2',
    });
    expect((await resolveCredentials({}, undefined, sources(undefined))).source).toMatch(/placeholders/);
  });

  it('says how to fill an empty stack secret', async () => {
    await expect(resolveCredentials({}, stack, sources(undefined))).rejects.toThrow(
      /is empty[\s\S]*aws secretsmanager put-secret-value --secret-id terra-api-credentials --region eu-west-2/,
    );
  });

  it('names the stand-in as not Terra, and Terra production with --stack', () => {
    expect(apiEndpointOf({}, undefined)).toEqual({ url: 'http://127.0.0.1:3001', label: 'local stand-in, not Terra' });
    expect(apiEndpointOf({}, stack)).toEqual({ url: 'https://api.tryterra.co/v2', label: 'Terra production' });
    expect(apiEndpointOf({ TERRA_API_URL: 'http://other:8080' }, stack)).toEqual({ url: 'http://other:8080', label: 'TERRA_API_URL' });
  });
});

describe('--wait', () => {
  it('is complete when the announced count arrived, or, unannounced (29–31 days), after a quiet grace period', () => {
    expect(isComplete({ expected: 13, received: 12, announced: true }, 60_000, 30_000)).toBe(false);
    expect(isComplete({ expected: 13, received: 13, announced: true }, 0, 30_000)).toBe(true);
    expect(isComplete({ received: 1, announced: false }, 10_000, 30_000)).toBe(false);
    expect(isComplete({ received: 1, announced: false }, 30_000, 30_000)).toBe(true);
    // Processing announced, no count yet: keep waiting.
    expect(isComplete({ received: 3, announced: true }, 60_000, 30_000)).toBe(false);
  });
});

describe('a backfill run, window by window', () => {
  const userId = 'u1';
  const sync = { type: 'sleep', from: '2026-11-01', to: '2026-11-02', endDate: '2026-11-03', days: 2, mode: 'sync' } as const;
  const async = { type: 'activity', from: '2026-08-01', to: '2026-10-31', endDate: '2026-11-01', days: 92, mode: 'async' } as const;
  const syncAnswer = JSON.stringify({
    user: { user_id: userId },
    type: 'sleep',
    data: [{ metadata: { summary_id: 's1' } }, { metadata: { summary_id: 's2' } }],
  });

  /** A client answering each request in turn; `now` moves only when the run sleeps. */
  function run(
    windows: Window[],
    answers: ApiResult[],
    options: { ledger?: LedgerEntry[]; enqueue?: (delivery: Delivery) => Promise<void> } = {},
  ) {
    let clock = 100 * 3_600_000;
    const lines: string[] = [];
    const pauses: number[] = [];
    const enqueued: Delivery[] = [];
    const queries: HistoryQuery[] = [];
    const client: TerraApiClient = {
      urlOf: () => '',
      request: async (query) => {
        queries.push(query);
        return answers.shift()!;
      },
    };
    const outcomes = runBackfill(
      { userId, windows, withSamples: false },
      {
        client,
        enqueue: options.enqueue ?? (async (delivery) => void enqueued.push(delivery)),
        now: () => clock,
        sleep: async (ms) => {
          pauses.push(ms);
          clock += ms;
        },
        write: (line) => lines.push(line),
        ledger: options.ledger ?? [],
        userDaysPerHour: 6000,
      },
    );
    return { outcomes, lines, pauses, enqueued, queries, at: () => clock };
  }
  const ok = (body: string, reference?: string): ApiResult => ({
    ok: true,
    status: 200,
    body: Buffer.from(body),
    requestedAt: 360_000_000 - 5,
    answeredAt: 360_000_000,
    reference,
    attempts: 1,
  });

  it('enqueues a synchronous answer as a delivery ordered by the time of its request, with a backfill trace id', async () => {
    const { outcomes, enqueued } = run([sync], [ok(syncAnswer)]);
    expect(await outcomes).toMatchObject([{ status: 'enqueued', records: 2 }]);
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]!.body.toString()).toBe(syncAnswer);
    expect(enqueued[0]).toMatchObject({
      orderingTimestamp: 360_000_000 - 5,
      signatureTimestamp: Math.floor((360_000_000 - 5) / 1000),
      traceId: expect.stringMatching(/^backfill:/),
    });
  });

  it('keeps the reference of an asynchronous answer, and fails a window whose answer has none or is not a success', async () => {
    const accepted = JSON.stringify({ status: 'success', type: 'activity', reference: 'ref-9', user: { user_id: userId } });
    const { outcomes } = run(
      [async, async, async],
      [ok(accepted), ok('{"status":"success"}'), ok('{"status":"error","message":"user not found","reference":"r"}')],
    );
    expect(await outcomes).toMatchObject([
      { status: 'requested', reference: 'ref-9' },
      { status: 'failed', reason: expect.stringContaining('no reference') },
      { status: 'failed', reason: 'Terra answered status "error": user not found' },
    ]);
  });

  it('pauses, and says so, when the next window would take the user over 6,000 days in the rolling hour', async () => {
    const now = 100 * 3_600_000;
    const { outcomes, lines, pauses } = run([async], [ok('{"reference":"r"}')], { ledger: [{ at: now - 40 * 60_000, days: 5950 }] });
    expect(await outcomes).toMatchObject([{ status: 'requested' }]);
    expect(pauses).toEqual([20 * 60_000]);
    expect(lines).toContainEqual(expect.stringMatching(/pausing 1200 s .*would exceed 6000 requested days in an hour/));
  });

  it('fails a window whose answer could not be enqueued, and still asks for the next', async () => {
    const { outcomes, queries } = run([sync, sync], [ok(syncAnswer), ok(syncAnswer)], {
      enqueue: async () => {
        throw new Error('queue unreachable');
      },
    });
    expect(await outcomes).toMatchObject([
      { status: 'failed', reason: expect.stringContaining('could not be enqueued: queue unreachable') },
      { status: 'failed' },
    ]);
    expect(queries).toHaveLength(2);
  });

  it('reports every window, and lists each failed one with the command that asks for it again', async () => {
    const args = parseBackfillArgs(['--user', userId, '--type', 'sleep', '--from', '2026-11-01', '--to', '2026-11-02']);
    const { outcomes } = run(args.windows, [
      { ok: false, status: 500, reason: 'HTTP 500 internal server error (gave up after 6 tries)', attempts: 6 },
    ]);
    const lines = report(args, await outcomes);
    expect(lines).toContain(
      '  sleep 2026-11-01..2026-11-02 (2 days, sync): FAILED: HTTP 500 internal server error (gave up after 6 tries)',
    );
    expect(lines).toContain('  npm run backfill -- --user u1 --type sleep --from 2026-11-01 --to 2026-11-02');
  });
});

describe('--help', () => {
  it('names every flag, says --to is inclusive and end_date exclusive, and states the rule for unannounced requests', () => {
    for (const flag of ['--user', '--type', '--from', '--to', '--with-samples', '--wait', '--timeout', '--stack', '--region', '--help'])
      expect(usage).toContain(flag);
    expect(usage).toMatch(/INCLUSIVE[\s\S]*end_date is exclusive/);
    expect(usage).toMatch(/29-31 days comes as ONE data event[\s\S]*nothing more came for 30 s/);
  });
});

import { dataAttributes } from '../../lambdas/shared/attributes';
import { dataItemKey } from '../../lambdas/shared/table-items';
import { type LoadPlan, copyOf, planLoad } from '../../lib/tools/loadtest/plan';
import { sendOne } from '../../lib/tools/loadtest/send';
import { toStoredItem, waitForDrain } from '../../lib/tools/loadtest/target';
import { type StoredItem, formatReport, judge, passed, percentile } from '../../lib/tools/loadtest/verdict';

const startMs = Date.parse('2026-11-22T10:00:00Z');
const plan = (deliveries = 1000, seed = 'unit', repeatRatio = 0.2) => planLoad({ deliveries, repeatRatio, seed, runId: 'run1', startMs });

describe('planLoad', () => {
  const planned = plan();

  it('has exactly N deliveries, of which the repeat ratio are exact repeats', () => {
    expect(planned.deliveries).toHaveLength(1000);
    expect(planned.deliveries.filter((d) => d.repeat)).toHaveLength(200);
    for (const n of [1, 7, 333, 2001]) expect(plan(n).deliveries).toHaveLength(n);
    expect(plan(333).deliveries.filter((d) => d.repeat)).toHaveLength(67);
  });

  it('sends every version of every record once, and repeats only copies that exist', () => {
    const originals = new Set(planned.deliveries.filter((d) => !d.repeat).map((d) => `${d.record}/${d.copy}`));
    expect(originals.size).toBe(800);
    expect(originals.size).toBe(planned.records.reduce((sum, record) => sum + record.copies.length, 0));
    for (const repeat of planned.deliveries.filter((d) => d.repeat)) expect(originals.has(`${repeat.record}/${repeat.copy}`)).toBe(true);
  });

  it('gives each record 1–3 versions with strictly increasing ordering timestamps and distinct content', () => {
    for (const record of planned.records) {
      expect(record.copies.length).toBeGreaterThanOrEqual(1);
      expect(record.copies.length).toBeLessThanOrEqual(3);
      record.copies.forEach((copy, i) => {
        expect(copy.version).toBe(i + 1);
        expect(JSON.parse(copy.body).data[0].loadtest.version).toBe(copy.version);
        if (i > 0) {
          expect(copy.orderingTs).toBeGreaterThan(record.copies[i - 1]!.orderingTs);
          expect(copy.body).not.toBe(record.copies[i - 1]!.body);
        }
      });
    }
    expect(new Set(planned.records.map((record) => record.copies.length)).size).toBe(3);
  });

  it('plans records the consumer will key as planned, unique per user, in small bodies of several types', () => {
    const keys = planned.records.map((record) => `${record.userId}/${record.recordId}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(planned.userIds).toHaveLength(50);
    expect(new Set(planned.records.map((record) => record.type))).toEqual(new Set(['activity', 'daily', 'sleep', 'body']));
    for (const record of planned.records) {
      const body = JSON.parse(record.copies[0]!.body);
      const { metadata } = body.data[0];
      const identifier = record.type === 'activity' || record.type === 'sleep' ? metadata.summary_id : metadata.start_time.slice(0, 10);
      expect(record.recordId).toBe(`${body.type}#${identifier}`);
      expect(body.user.user_id).toBe(record.userId);
      for (const copy of record.copies) expect(Buffer.byteLength(copy.body)).toBeLessThan(5 * 1024);
    }
  });

  it('is deterministic for a seed and shuffled differently for another', () => {
    expect(plan(500, 'a')).toEqual(plan(500, 'a'));
    const other = plan(500, 'b');
    expect(other.deliveries.map((d) => `${d.record}/${d.copy}`)).not.toEqual(plan(500, 'a').deliveries.map((d) => `${d.record}/${d.copy}`));
    // Another run with the same seed replays the same shape for users of its own.
    const rerun = planLoad({ deliveries: 500, repeatRatio: 0.2, seed: 'a', runId: 'run2', startMs });
    expect(rerun.deliveries).toEqual(plan(500, 'a').deliveries);
    expect(rerun.userIds.filter((id) => plan(500, 'a').userIds.includes(id))).toEqual([]);
  });

  it('mixes repeats and versions through the list rather than leaving them at the end', () => {
    const lastFifth = planned.deliveries.slice(800);
    expect(lastFifth.filter((d) => d.repeat).length).toBeGreaterThan(10);
    expect(lastFifth.filter((d) => d.repeat).length).toBeLessThan(90);
  });

  it('refuses plans it cannot build', () => {
    expect(() => plan(0)).toThrow(/positive integer/);
    expect(() => plan(10, 'x', 1)).toThrow(/repeat ratio/);
    expect(() => plan(1, 'x', 0.6)).toThrow(/nothing to repeat/);
  });
});

describe('judge', () => {
  // Two records: A in versions 1..3, B in one version; C was planned but never acknowledged.
  const crafted: Pick<LoadPlan, 'records' | 'deliveries'> = {
    records: [
      {
        userId: 'u1',
        recordId: 'activity#A',
        type: 'activity',
        copies: [1, 2, 3].map((version) => ({ version, orderingTs: 100 + version, body: '', reference: '', traceId: '' })),
      },
      { userId: 'u2', recordId: 'daily#B', type: 'daily', copies: [{ version: 1, orderingTs: 200, body: '', reference: '', traceId: '' }] },
      { userId: 'u2', recordId: 'sleep#C', type: 'sleep', copies: [{ version: 1, orderingTs: 300, body: '', reference: '', traceId: '' }] },
    ],
    deliveries: [
      { record: 0, copy: 0, repeat: false },
      { record: 0, copy: 1, repeat: false },
      { record: 0, copy: 2, repeat: false },
      { record: 1, copy: 0, repeat: false },
      { record: 2, copy: 0, repeat: false },
      { record: 0, copy: 2, repeat: true },
    ],
  };
  const allButC = [true, true, true, true, false, true];
  const item = (userId: string, recordId: string, orderingTs: number, version?: number): StoredItem => ({
    userId,
    recordId,
    orderingTs,
    version,
  });

  it('passes when every acknowledged record holds its newest acknowledged copy', () => {
    const verdict = judge(crafted, allButC, [item('u1', 'activity#A', 103, 3), item('u2', 'daily#B', 200, 1)]);
    expect(verdict).toMatchObject({ sent: 6, acknowledged: 5, failed: 1, expected: 2, stored: 2, lost: 0, stale: 0, duplicates: 0 });
    expect(passed(verdict, true)).toBe(false); // one delivery was never acknowledged
    expect(
      passed(
        judge(
          crafted,
          allButC.map(() => true),
          [item('u1', 'activity#A', 103, 3), item('u2', 'daily#B', 200, 1), item('u2', 'sleep#C', 300, 1)],
        ),
        true,
      ),
    ).toBe(true);
  });

  it('counts an acknowledged record that is missing as lost', () => {
    const verdict = judge(crafted, allButC, [item('u1', 'activity#A', 103, 3)]);
    expect(verdict).toMatchObject({ expected: 2, stored: 1, lost: 1, stale: 0 });
    expect(verdict.examples.join('\n')).toMatch(/lost .*u2 daily#B/);
  });

  it('counts an older ordering_ts, older content or unreadable content as stale', () => {
    const olderTs = judge(crafted, allButC, [item('u1', 'activity#A', 102, 3), item('u2', 'daily#B', 200, 1)]);
    const olderContent = judge(crafted, allButC, [item('u1', 'activity#A', 103, 2), item('u2', 'daily#B', 200, 1)]);
    const unreadable = judge(crafted, allButC, [item('u1', 'activity#A', 103), item('u2', 'daily#B', 200, 1)]);
    for (const verdict of [olderTs, olderContent, unreadable]) expect(verdict).toMatchObject({ stored: 2, lost: 0, stale: 1 });
  });

  it('judges against the newest acknowledged copy, not the newest planned one', () => {
    // Version 3 of A was never acknowledged (both its deliveries failed): version 2 is right.
    const acks = [true, true, false, true, true, false];
    expect(
      judge(crafted, acks, [item('u1', 'activity#A', 102, 2), item('u2', 'daily#B', 200, 1), item('u2', 'sleep#C', 300, 1)]).stale,
    ).toBe(0);
    // A record none of whose copies was acknowledged is not expected; stored anyway, it is no duplicate.
    const unacknowledgedStored = judge(crafted, allButC, [
      item('u1', 'activity#A', 103, 3),
      item('u2', 'daily#B', 200, 1),
      item('u2', 'sleep#C', 300, 1),
    ]);
    expect(unacknowledgedStored).toMatchObject({ expected: 2, stored: 2, duplicates: 0 });
  });

  it('counts items of the run users with record ids never planned as duplicates', () => {
    const verdict = judge(crafted, allButC, [
      item('u1', 'activity#A', 103, 3),
      item('u2', 'daily#B', 200, 1),
      item('u1', 'activity#A-copy', 103, 3),
      item('u1', 'daily#B', 200, 1),
    ]);
    expect(verdict).toMatchObject({ stored: 2, lost: 0, stale: 0, duplicates: 2 });
    expect(passed(verdict, true)).toBe(false);
  });

  it('formats a report that names the verdict', () => {
    const verdict = judge(crafted, allButC, [item('u1', 'activity#A', 103, 3)]);
    const report = formatReport(verdict, { retries: 2, ackSeconds: 2, endToEndSeconds: 4, drained: true, latenciesMs: [10, 20, 30] });
    expect(report).toMatch(/lost\s+1/);
    expect(report).toMatch(/ack throughput\s+3 deliveries\/s/);
    expect(report).toMatch(/p50 \/ p99\s+20 ms \/ 30 ms/);
    expect(report.trim().split('\n').at(-1)).toBe('FAIL');
  });
});

describe('helpers', () => {
  it('percentile uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([], 99)).toBe(0);
  });

  it('reads the version from the stored payload, whichever way it was kept', async () => {
    const item = { ...dataItemKey('u', 'daily#x'), [dataAttributes.orderingTs]: 5 };
    const stored = await toStoredItem({ ...item, [dataAttributes.payload]: { loadtest: { version: 2 } } });
    expect(stored).toEqual({ userId: 'u', recordId: 'daily#x', orderingTs: 5, version: 2 });
    expect((await toStoredItem(item)).version).toBeUndefined();
  });

  it('retries 5xx and network errors with backoff, stops on a 4xx, signs each attempt', async () => {
    const copy = copyOf(plan(10), plan(10).deliveries[0]!);
    const statuses: (number | Error)[] = [503, new Error('socket hang up'), 200];
    const signatures: string[] = [];
    const sleeps: number[] = [];
    let clock = 1_000_000;
    const fetchStub = (async (_url: string, init: RequestInit) => {
      signatures.push((init.headers as Record<string, string>)['terra-signature']!);
      expect((init.headers as Record<string, string>)['x-terra-ordering-timestamp']).toBe(String(copy.orderingTs));
      const next = statuses.shift()!;
      if (next instanceof Error) throw next;
      return new Response('{}', { status: next });
    }) as typeof fetch;
    const deps = { fetch: fetchStub, now: () => (clock += 1000), sleep: async (ms: number) => void sleeps.push(ms) };
    const outcome = await sendOne(copy, { url: 'http://x', secret: 's', concurrency: 1 }, deps);
    expect(outcome).toMatchObject({ acknowledged: true, status: 200, attempts: 3 });
    expect(sleeps).toEqual([200, 400]);
    expect(new Set(signatures).size).toBe(3);

    statuses.push(401, 200);
    expect(await sendOne(copy, { url: 'http://x', secret: 's', concurrency: 1 }, deps)).toMatchObject({
      acknowledged: false,
      status: 401,
      attempts: 1,
    });
  });

  it('waits for the queue depth to stay at zero before calling it drained', async () => {
    let clock = 0;
    const depths = [3, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    const deps = {
      now: () => clock,
      sleep: async (ms: number) => {
        clock += ms;
      },
    };
    expect(await waitForDrain(async () => depths.shift() ?? 0, { timeoutMs: 10_000, stableMs: 1_000, pollMs: 250 }, deps)).toBe(true);
    // Empty at 250, busy again at 500, empty from 750: drained once 750 + 1000 is reached.
    expect(clock).toBe(1_750);
    clock = 0;
    expect(await waitForDrain(async () => 1, { timeoutMs: 2_000, pollMs: 250 }, deps)).toBe(false);
  });
});

import { archiveKey } from '../../lambdas/consumer/archive';
import {
  formatSummary,
  hourPrefixes,
  parseArchiveEntry,
  parseInstant,
  parseRange,
  type ReplaySummary,
  selectKey,
} from '../../lib/tools/replay';

const sha = 'ab'.repeat(32);
const keyAt = (receivedAt: string, type: string, userId?: string) => archiveKey({ signatureTimestamp: 1, receivedAt }, sha, type, userId);
const range = (from: string, to: string) => parseRange(from, to);

describe('replay range', () => {
  it('reads a date as UTC midnight and an ISO time as given', () => {
    expect(parseInstant('2026-11-22', '--from').toISOString()).toBe('2026-11-22T00:00:00.000Z');
    expect(parseInstant('2026-11-22T10:15:30.250Z', '--from').toISOString()).toBe('2026-11-22T10:15:30.250Z');
    expect(parseInstant('2026-11-22T10:15:00+02:00', '--from').toISOString()).toBe('2026-11-22T08:15:00.000Z');
  });

  it('reads a time without a zone as UTC, like the archive keys', () => {
    expect(parseInstant('2026-11-22T10:15', '--to').toISOString()).toBe('2026-11-22T10:15:00.000Z');
  });

  it.each(['yesterday', '22/11/2026', '2026-11-22 10:00', '2026-02-30', '2026-13-01', '2026-11-22T25:00Z', ''])('refuses %j', (value) => {
    expect(() => parseInstant(value, '--from')).toThrow(/--from: expected a date \(2026-11-22\) or an ISO time/);
  });

  it('requires both ends', () => {
    expect(() => parseRange('2026-11-22', undefined)).toThrow('both --from and --to are required');
    expect(() => parseRange(undefined, '2026-11-22')).toThrow('both --from and --to are required');
  });

  it('refuses an empty or backwards range, saying --to is exclusive', () => {
    expect(() => parseRange('2026-11-22', '2026-11-22')).toThrow(/must be before --to .*--to is exclusive/);
    expect(() => parseRange('2026-11-23', '2026-11-22')).toThrow(/must be before --to/);
  });

  it('accepts 31 days and refuses more', () => {
    expect(range('2026-11-01', '2026-12-02').to.toISOString()).toBe('2026-12-02T00:00:00.000Z');
    expect(() => parseRange('2026-11-01', '2026-12-02T00:00:01Z')).toThrow(/spans 32 days; replay at most 31 days/);
  });
});

describe('hour prefixes', () => {
  it('covers every hour the range touches, the to-hour only when it starts before --to', () => {
    expect(hourPrefixes(range('2026-11-22T10:30Z', '2026-11-22T12:00Z'))).toEqual(['archive/2026/11/22/10/', 'archive/2026/11/22/11/']);
    expect(hourPrefixes(range('2026-11-22T10:30Z', '2026-11-22T12:00:00.001Z'))).toHaveLength(3);
    expect(hourPrefixes(range('2026-11-22T10:30Z', '2026-11-22T10:31Z'))).toEqual(['archive/2026/11/22/10/']);
  });

  it('spans days, months and years', () => {
    const prefixes = hourPrefixes(range('2026-12-31T22:00Z', '2027-01-01T02:00Z'));
    expect(prefixes).toEqual(['archive/2026/12/31/22/', 'archive/2026/12/31/23/', 'archive/2027/01/01/00/', 'archive/2027/01/01/01/']);
    const february = hourPrefixes(range('2028-02-28T23:00Z', '2028-03-01T01:00Z'));
    expect(february).toContain('archive/2028/02/29/12/');
    expect(february.at(-1)).toBe('archive/2028/03/01/00/');
    expect(february).toHaveLength(26);
  });

  it('lists 24 hours for a day, matching the hour archiveKey files a delivery under', () => {
    const day = hourPrefixes(range('2026-11-22', '2026-11-23'));
    expect(day).toHaveLength(24);
    const key = keyAt('2026-11-22T07:59:59.999Z', 'sleep', 'u-1');
    expect(day.filter((prefix) => key.startsWith(prefix))).toEqual(['archive/2026/11/22/07/']);
  });
});

describe('archive keys', () => {
  it('reads the arrival time back from the key', () => {
    expect(parseArchiveEntry(keyAt('2026-11-22T02:19:55.164Z', 'sleep', 'u-1'))?.receivedAt.toISOString()).toBe('2026-11-22T02:19:55.164Z');
    expect(parseArchiveEntry('archive/2026/11/22/02/2026-11-22_sleep_u-1_0123456789abcdef')).toBeUndefined();
  });

  it('round-trips what archiveKey writes, types with underscores included', () => {
    expect(parseArchiveEntry(keyAt('2026-11-22T02:19:55.164Z', 'activity', 'u-1'))).toEqual({
      key: keyAt('2026-11-22T02:19:55.164Z', 'activity', 'u-1'),
      receivedAt: new Date('2026-11-22T02:19:55.164Z'),
      type: 'activity',
      userId: 'u-1',
    });
    expect(parseArchiveEntry(keyAt('2026-11-22T02:19:55.164Z', 'user_reauth', 'u-2'))).toMatchObject({
      type: 'user_reauth',
      userId: 'u-2',
    });
    expect(parseArchiveEntry(keyAt('2026-11-22T02:19:55.164Z', 's3_payload'))).toMatchObject({ type: 's3_payload', userId: undefined });
    expect(parseArchiveEntry(keyAt('2026-11-22T02:19:55.164Z', 'healthcheck'))).toMatchObject({ type: 'healthcheck', userId: undefined });
  });

  it('does not recognise other objects', () => {
    expect(parseArchiveEntry('archive/2026/11/22/02/notes.txt')).toBeUndefined();
    expect(parseArchiveEntry('archive/2026/11/22/02/garbage_activity_u-1_0123456789abcdef')).toBeUndefined();
  });
});

describe('selecting keys', () => {
  const day = range('2026-11-22', '2026-11-23');

  it('keeps [from, to): from inclusive, to exclusive', () => {
    expect(selectKey(keyAt('2026-11-22T00:00:00.000Z', 'sleep', 'a'), { range: day }).kind).toBe('match');
    expect(selectKey(keyAt('2026-11-22T23:59:59.999Z', 'sleep', 'a'), { range: day }).kind).toBe('match');
    expect(selectKey(keyAt('2026-11-23T00:00:00.000Z', 'sleep', 'a'), { range: day })).toEqual({ kind: 'skip', reason: 'out_of_range' });
    expect(selectKey(keyAt('2026-11-21T23:59:59.999Z', 'sleep', 'a'), { range: day })).toEqual({ kind: 'skip', reason: 'out_of_range' });
  });

  it('keeps only minutes inside a range that starts and ends mid-hour', () => {
    const narrow = range('2026-11-22T10:15Z', '2026-11-22T10:45Z');
    expect(selectKey(keyAt('2026-11-22T10:14:59.999Z', 'sleep', 'a'), { range: narrow }).kind).toBe('skip');
    expect(selectKey(keyAt('2026-11-22T10:30:00.000Z', 'sleep', 'a'), { range: narrow }).kind).toBe('match');
    expect(selectKey(keyAt('2026-11-22T10:45:00.000Z', 'sleep', 'a'), { range: narrow }).kind).toBe('skip');
  });

  it('filters by user and by type', () => {
    const key = keyAt('2026-11-22T10:00:00.000Z', 'activity', 'user-a');
    expect(selectKey(key, { range: day, userId: 'user-a' }).kind).toBe('match');
    expect(selectKey(key, { range: day, userId: 'user-b' })).toEqual({ kind: 'skip', reason: 'filtered' });
    expect(selectKey(key, { range: day, type: 'activity' }).kind).toBe('match');
    expect(selectKey(key, { range: day, type: 'sleep' })).toEqual({ kind: 'skip', reason: 'filtered' });
    expect(selectKey(keyAt('2026-11-22T10:00:00.000Z', 'healthcheck'), { range: day, userId: 'user-a' }).kind).toBe('skip');
    expect(selectKey(keyAt('2026-11-22T10:00:00.000Z', 'user_reauth', 'user-a'), { range: day, type: 'user_reauth' }).kind).toBe('match');
  });

  it('skips Ping-mode wrappers unless --type s3_payload asks for them', () => {
    const ping = keyAt('2026-11-22T10:00:00.000Z', 's3_payload');
    expect(selectKey(ping, { range: day })).toEqual({ kind: 'skip', reason: 'ping' });
    expect(selectKey(ping, { range: day, type: 's3_payload' }).kind).toBe('match');
    expect(selectKey(ping, { range: day, type: 'activity' })).toEqual({ kind: 'skip', reason: 'filtered' });
  });

  it('reports unrecognised names rather than guessing', () => {
    expect(selectKey('archive/2026/11/22/10/README', { range: day })).toEqual({ kind: 'skip', reason: 'unrecognised' });
  });
});

describe('summary', () => {
  const summary: ReplaySummary = { prefixes: 24, scanned: 7, matched: 3, sent: 3, failed: 0, skippedPing: 2, unrecognised: 0 };
  const day = range('2026-11-22', '2026-11-23');

  it('gives range, filters, counts, the s3_payload reason and an inspect hint', () => {
    const text = formatSummary(summary, { range: day, userId: 'user-a' }).join('\n');
    expect(text).toContain('2026-11-22T00:00:00.000Z (inclusive) → 2026-11-23T00:00:00.000Z (exclusive), 24 hour prefixes');
    expect(text).toContain('user user-a, type any');
    expect(text).toMatch(/Scanned: +7 archived objects/);
    expect(text).toMatch(/Matched: +3/);
    expect(text).toMatch(/Sent: +3\n/);
    expect(text).toMatch(/Skipped: +2 s3_payload .*pre-signed URLs have expired/);
    expect(text).toContain('npm run inspect -- user-a');
  });

  it('says a dry run sent nothing and gives no hint', () => {
    const text = formatSummary({ ...summary, sent: 0 }, { range: day, dryRun: true }).join('\n');
    expect(text).toContain('dry run: nothing was sent');
    expect(text).not.toContain('npm run inspect');
  });
});

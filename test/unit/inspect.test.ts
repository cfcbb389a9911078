import { dataAttributes as data, eventAttributes as event, userAttributes as user } from '../../lambdas/shared/attributes';
import { eventItemKey } from '../../lambdas/shared/table-items';
import { formatEventCounts, formatRequest, formatUserReport } from '../../lib/tools/inspect';

describe('inspect output', () => {
  it('says how much of a historical request has arrived', () => {
    const tracker = {
      ...eventItemKey('large_request#r1'),
      [event.userId]: 'u1',
      [event.expectedPayloads]: 3,
      [event.receivedPayloads]: new Set(['a', 'b']),
    };
    expect(formatRequest('r1', tracker)).toMatch(
      new RegExp(`${event.expectedPayloads}\\s+3[\\s\\S]*${event.receivedPayloads}\\s+2[\\s\\S]*waiting for 1 more`),
    );
    expect(formatRequest('r1', { ...tracker, [event.receivedPayloads]: new Set(['a', 'b', 'c']) })).toMatch(/state\s+complete/);
    expect(formatRequest('r2', undefined)).toMatch(/nothing received/);
  });

  it("shows a user's state and one row per record, with how each was kept", () => {
    const report = formatUserReport(
      'u1',
      {
        user: { [user.provider]: 'DEXCOM', [user.status]: 'connected', [user.active]: true },
        records: [
          {
            [data.recordId]: 'body#2026-11-21',
            [data.provider]: 'DEXCOM',
            [data.startTime]: 's',
            [data.endTime]: 'e',
            [data.orderingTs]: 0,
            [data.receivedAt]: 'r',
            [data.payload]: {},
          },
        ],
        payloads: [{ glucose_data: { blood_glucose_samples: [1, 2, 3] } }],
      },
      'local stack',
    );
    expect(report).toMatch(new RegExp(`${user.status}\\s+connected`));
    expect(report).toMatch(/body#2026-11-21\s+DEXCOM\s+s\s+e\s+3\s+map/);
  });

  it('counts kept events by outcome and type', () => {
    expect(formatEventCounts({ 'invalid (activity)': 2 })).toMatch(/invalid \(activity\)\s+2/);
    expect(formatEventCounts({})).toMatch(/none/);
  });
});

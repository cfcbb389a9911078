import { formatEventCounts, formatRequest, formatUserReport } from '../../lib/tools/inspect';

describe('inspect output', () => {
  it('says how much of a historical request has arrived', () => {
    const tracker = { event_id: 'large_request#r1', user_id: 'u1', expected_payloads: 3, received_payloads: new Set(['a', 'b']) };
    expect(formatRequest('r1', tracker)).toMatch(/expected_payloads\s+3[\s\S]*received_payloads\s+2[\s\S]*waiting for 1 more/);
    expect(formatRequest('r1', { ...tracker, received_payloads: new Set(['a', 'b', 'c']) })).toMatch(/state\s+complete/);
    expect(formatRequest('r2', undefined)).toMatch(/nothing received/);
  });

  it("shows a user's state and one row per record, with how each was kept", () => {
    const report = formatUserReport(
      'u1',
      {
        user: { provider: 'DEXCOM', status: 'connected', active: true },
        records: [
          {
            record_id: 'body#2026-11-21',
            provider: 'DEXCOM',
            start_time: 's',
            end_time: 'e',
            ordering_ts: 0,
            received_at: 'r',
            payload: {},
          },
        ],
        payloads: [{ glucose_data: { blood_glucose_samples: [1, 2, 3] } }],
      },
      'local stack',
    );
    expect(report).toMatch(/status\s+connected/);
    expect(report).toMatch(/body#2026-11-21\s+DEXCOM\s+s\s+e\s+3\s+map/);
  });

  it('counts kept events by outcome and type', () => {
    expect(formatEventCounts({ 'invalid (activity)': 2 })).toMatch(/invalid \(activity\)\s+2/);
    expect(formatEventCounts({})).toMatch(/none/);
  });
});

/**
 * The gzip threshold: map and gzip write units of records of growing size, where gzip starts to
 * pay, and the map limit recommended from it (the default of `recordMapMaxBytes`).
 */
import { routeBody } from '../../lambdas/consumer/route';
import { defaults } from '../../lambdas/shared/definitions';
import { DEFAULT_SEED, dataEvent, dexcomBodyRecord, terraUser, xossActivityRecord } from '../../lib/tools/fixtures';
import { scenarioDeliveries } from './deliveries';
import { deliveryContext, type RecordItems, recordItems } from './records';

export interface SizePoint {
  jsonBytes: number;
  mapWriteUnits: number;
  gzipWriteUnits: number;
}

/**
 * The JSON sizes around which gzip starts to pay: `from` is the smallest point from which every
 * larger point saves at least `minUnits` write units and `minShare` of them; `below` is the
 * largest point under it that does not. A threshold anywhere in [below, from) splits the points.
 */
export function gzipPays(points: readonly SizePoint[], minUnits = 1, minShare = 0.5): { below?: number; from?: number } {
  const sorted = [...points].sort((a, b) => a.jsonBytes - b.jsonBytes);
  let from: number | undefined;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const { jsonBytes, mapWriteUnits, gzipWriteUnits } = sorted[i];
    const saved = mapWriteUnits - gzipWriteUnits;
    if (saved < minUnits || saved < minShare * mapWriteUnits) return { below: jsonBytes, from };
    from = jsonBytes;
  }
  return { from };
}

/**
 * The recommended map limit: records whose JSON is larger are stored gzipped. A map costs one
 * write unit while the whole item stays within 1 KB; the item's other attributes take ~0.4 KiB,
 * so the smallest records keep one unit either way, and from ~0.75 KiB of JSON every record of
 * the sweep saves at least half its units gzipped. 768 B is the largest round size below the
 * first record that saves (`gzipPays(sizePoints())`, checked by test/unit/bench-cost.test.ts): the default of recordMapMaxBytes.
 */
export const recommendedGzipAboveBytes: number = defaults.recordMapMaxBytes;

/**
 * Map and gzip write units of records of growing size from the real fixture builders (a CGM day
 * filling up from 0 to 288 readings, Xoss rides of 30 s to 1 h) and of the simulator's day.
 */
export function sizePoints(seed = DEFAULT_SEED): SizePoint[] {
  const user = terraUser({ userId: 'c0ffee00-0000-4000-8000-000000000001', provider: 'DEXCOM', referenceId: 'bench' });
  const bodies = [0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 288].map((samples) => ({
    type: 'body',
    record: dexcomBodyRecord({ user, date: '2026-11-21', seed, samples }) as unknown as Record<string, unknown>,
  }));
  const rides = [30, 60, 120, 240, 480, 900, 1800, 3600].map((durationSeconds) => ({
    type: 'activity',
    record: xossActivityRecord({
      user,
      start: Date.UTC(2026, 10, 21, 7),
      seed,
      durationSeconds,
      sampleIntervalSeconds: 2,
    }) as unknown as Record<string, unknown>,
  }));
  const point = ({ jsonBytes, map, gzip }: RecordItems): SizePoint => ({
    jsonBytes,
    mapWriteUnits: map.writeUnits,
    gzipWriteUnits: gzip.writeUnits,
  });
  return [
    ...[...bodies, ...rides].map(({ type, record }) => {
      const route = routeBody(JSON.stringify(dataEvent(type as 'body', user, [record])));
      if (route.kind !== 'data') throw new Error(`a ${type} fixture did not route as data`);
      return point(recordItems(type, route.user, route.records[0], deliveryContext(Buffer.from(type))));
    }),
    ...scenarioDeliveries(seed).flatMap((delivery) => delivery.records.map(point)),
  ];
}

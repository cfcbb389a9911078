import { gzipSync } from 'node:zlib';
import { dataAttributes as data } from '../../lambdas/shared/attributes';
import { type DeliveryCase, scenarioDeliveries } from '../../bench/cost/deliveries';
import { indexEntry, itemBytes, numberBytes, valueBytes, writeUnits } from '../../bench/cost/item-size';
import { assumptions, awsPrices } from '../../bench/cost/prices';
import { deliveryContext, recordItems, storedForm } from '../../bench/cost/records';
import { gzipPays, recommendedGzipAboveBytes, sizePoints } from '../../bench/cost/threshold';
import { deliveryUsage, dollars } from '../../bench/cost/usage';

// Item sizes by https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html,
// every expected figure worked out by hand in the comment beside it.

describe("DynamoDB's item-size rules", () => {
  it('sizes numbers at one byte per two significant digits plus one, leading and trailing zeros trimmed', () => {
    expect(numberBytes('0')).toBe(1); // zero: 1 byte
    expect(numberBytes('7')).toBe(2); // 1 digit: 1 pair + 1
    expect(numberBytes('42')).toBe(2); // 2 digits: 1 pair + 1
    expect(numberBytes('12345')).toBe(4); // 5 digits: 3 pairs + 1
    expect(numberBytes('1795334400123')).toBe(8); // an ordering_ts in ms, 13 digits: 7 pairs + 1
    expect(numberBytes('100')).toBe(2); // trailing zeros trimmed: "1"
    expect(numberBytes('0.05')).toBe(2); // leading zeros trimmed: "5"
    expect(numberBytes('1e+21')).toBe(2); // as String(1e21) writes it: "1"
    expect(numberBytes('-7')).toBe(3); // a negative number: one byte more
  });

  it('pairs the digits on the decimal point, as DynamoDB stores them', () => {
    expect(numberBytes('1.5')).toBe(3); // 01|50: 2 pairs + 1, where "2 digits / 2 + 1" would say 2
    expect(numberBytes('123.45')).toBe(4); // 01|23|45: 3 pairs + 1
    expect(numberBytes('72.3')).toBe(3); // 72|30: 2 pairs + 1
  });

  it('counts attribute names and every type as the rules say', () => {
    const item = {
      id: { S: 'abc' }, // 2 + 3 = 5
      n: { N: '42' }, // 1 + 2 = 3
      ok: { BOOL: true }, // 2 + 1 = 3
      none: { NULL: true }, // 4 + 1 = 5
      bin: { B: new Uint8Array(10) }, // 3 + 10 raw bytes = 13
      m: { M: { a: { S: 'xy' }, b: { N: '1' } } }, // 1 + 3 + (1 + 2 + 1) + (1 + 2 + 1) = 12
      l: { L: [{ S: 'q' }, { N: '7' }] }, // 1 + 3 + (1 + 1) + (2 + 1) = 9
      ss: { SS: ['ab', 'cde'] }, // 2 + 5 = 7
      é: { S: 'ü' }, // 2 + 2: UTF-8 bytes, not characters
    };
    expect(itemBytes(item)).toBe(5 + 3 + 3 + 5 + 13 + 12 + 9 + 7 + 4);
    expect(valueBytes({ M: {} })).toBe(3); // an empty map: its 3 bytes of overhead
    expect(valueBytes({ L: [] })).toBe(3);
  });

  it('charges one write unit per started KB, at least one', () => {
    expect([0, 1, 1024, 1025, 3 * 1024, 3 * 1024 + 1].map(writeUnits)).toEqual([1, 1, 1, 2, 3, 4]);
  });
});

describe('the items the consumer writes (recordPut)', () => {
  const user = { user_id: 'u', provider: 'P', reference_id: null };
  const record = { recordId: 'body#d', startTime: 's', record: { a: 1 } };
  const context = deliveryContext(Buffer.from('{}'));
  // An attribute costs its name's bytes and its value's: "u" 1, "body#d" 6, "u#body" 6, "body" 4, "P" 1, "s" 1,
  // the ordering key 8 (a number), the arrival time 24, the body's SHA-256 64; the payload comes on top.
  const named = (name: string, valueBytes: number) => Buffer.byteLength(name) + valueBytes;
  const keysAndIndexed =
    named(data.userId, 1) +
    named(data.recordId, 6) +
    named(data.userType, 6) +
    named(data.type, 4) +
    named(data.provider, 1) +
    named(data.startTime, 1) +
    named(data.orderingTs, 8) +
    named(data.receivedAt, 24);
  const base = keysAndIndexed + named(data.bodySha256, 64);

  it('sizes the real item of both forms: the map as a map, the gzip as its raw bytes', () => {
    const items = recordItems('body', user, record, context);
    expect(items.map.bytes).toBe(base + named(data.payload, 3 + 1 + 2 + 1)); // {a: 1}: map 3, "a" 1, 1 → 2, element 1
    expect(items.gzip.bytes).toBe(base + named(data.payloadGzip, gzipSync('{"a":1}').length)); // the raw bytes
    expect(items.jsonBytes).toBe(7);
    expect(items.map.writeUnits).toBe(1);
  });

  it("sizes the index entry from the table's and index's keys and the projected attributes only", () => {
    const items = recordItems('body', user, record, context);
    // The keys, the index's key and the projected attributes; no payload, no hash.
    expect(items.indexBytes).toBe(keysAndIndexed);
    expect(indexEntry(recordItems('athlete', user, { recordId: 'athlete#profile', record: {} }, context).map.marshalled)).toBeUndefined();
  });

  it('stores a map up to the limit and gzips above it, or when the map would pass 400 KB', () => {
    const items = recordItems('body', user, record, context);
    expect(storedForm(items).form).toBe('map');
    expect(storedForm(items, 6).form).toBe('gzip');
    const xert = scenarioDeliveries().find((delivery) => delivery.name === 'activity xert')!.records[0];
    expect(xert.map.bytes).toBeGreaterThan(400 * 1024);
    expect(storedForm(xert, 10 * 1024 * 1024).form).toBe('gzip');
  });
});

describe('the usage and price of one delivery', () => {
  const user = { user_id: 'u', provider: 'P', reference_id: null };
  const items = recordItems('body', user, { recordId: 'body#d', startTime: 's', record: { a: 1 } }, deliveryContext(Buffer.from('{}')));
  const delivery = (bodyBytes: number, messageBytes: number): DeliveryCase => ({
    name: 'test',
    body: Buffer.alloc(bodyBytes),
    context: items.context,
    messageBytes,
    userKnown: true,
    records: [items],
    userWriteUnits: 0,
    cpuMs: { ingest: 0, consumer: 0, record: new Map() },
    logBytes: { ingest: 1000, consumerMessage: 500, consumerInvocation: 300 },
  });

  it('counts the requests each service bills, by its own unit', () => {
    const usage = deliveryUsage(delivery(600 * 1024, 130 * 1024), (it) => it.map, assumptions);
    expect(usage.apiGatewayRequests).toBe(2); // 600 KB in 512 KB increments
    expect(usage.sqsRequests).toBe(3 + 3 + 1); // send and receive 3 chunks of 64 KB each, one delete
    expect(usage.writeUnits).toBe(1 + 1); // the item and its index entry
    expect(usage.s3Puts).toBe(2); // the archived body and its index marker
    expect(usage.logBytes).toBe(1800);
  });

  it('prices the usage: one write unit at $0.625 per million, two PUTs at $0.005 per thousand', () => {
    const costs = dollars(
      deliveryUsage(delivery(1000, 1200), (it) => it.map, assumptions),
      awsPrices,
    );
    expect(costs['API Gateway']).toBeCloseTo(1e-6, 12);
    expect(costs.SQS).toBeCloseTo(3 * 0.4e-6, 12);
    expect(costs['DynamoDB writes']).toBeCloseTo(2 * 0.625e-6, 12);
    expect(costs['S3 PUT']).toBeCloseTo(2 * 0.005e-3, 12);
  });

  it('counts both puts of a copy whose enrichment scores are null: the one the stored scores refuse, and the merged one', () => {
    const scored = (data_enrichment: unknown) =>
      recordItems('sleep', user, { recordId: 'sleep#s', startTime: 's', record: { data_enrichment } }, deliveryContext(Buffer.from('{}')));
    expect(scored(null).mergesEnrichment).toBe(false); // the simulator's: nothing to keep, the first put passes
    const merging = scored({ sleep_score: null, stress_score: 12 });
    expect(merging.mergesEnrichment).toBe(true);
    const usage = deliveryUsage({ ...delivery(1000, 1200), records: [merging] }, (it) => it.map, assumptions);
    expect(usage.writeUnits).toBe(2 * merging.map.writeUnits + 1);
  });

  it('leaves the archive, the index, backups and logs out of the floor', () => {
    const floor = deliveryUsage(delivery(1000, 1200), (it) => it.map, assumptions, true);
    expect(floor).toMatchObject({ s3Puts: 0, s3GbMonths: 0, pitrGbMonths: 0, logBytes: 0, writeUnits: items.gzip.writeUnits });
  });
});

describe('the gzip threshold', () => {
  it('finds where every larger record saves at least one write unit and half of them', () => {
    const point = (jsonBytes: number, mapWriteUnits: number, gzipWriteUnits: number) => ({ jsonBytes, mapWriteUnits, gzipWriteUnits });
    expect(gzipPays([point(5000, 5, 2), point(100, 1, 1), point(800, 2, 1)])).toEqual({ below: 100, from: 800 });
    // A larger record saving too little moves the boundary above it.
    expect(gzipPays([point(800, 2, 1), point(1500, 2, 2), point(3000, 3, 1)])).toEqual({ below: 1500, from: 3000 });
    expect(gzipPays([point(100, 1, 1)])).toEqual({ below: 100, from: undefined });
  });

  it("recommends a size between the simulator's records that save nothing and those that save half", () => {
    const { below, from } = gzipPays(sizePoints());
    expect(recommendedGzipAboveBytes).toBeGreaterThanOrEqual(below!);
    expect(recommendedGzipAboveBytes).toBeLessThan(from!);
  });
});

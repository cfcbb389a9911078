/**
 * The cost row: what storing one record and handling one delivery cost in AWS.
 *
 * For each record of the simulator's day (real fixture builders, the simulator's default seed),
 * the item the consumer really writes (`recordPut`) in both forms, a readable `payload` map and
 * `payload_gzip`, sized by DynamoDB's rules, with its write units; then the dollars per million
 * deliveries of a stated mix, itemised per service from public prices of one region; and the JSON
 * size above which gzip beats the map. Nothing here calls AWS: item, message and log sizes are
 * computed with the product's own functions, the CPU part of each function's duration is measured
 * on this machine, and the round trips to AWS services are stated assumptions (`assumptions`).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { marshall } from '@aws-sdk/util-dynamodb';
import { gzipSync } from 'node:zlib';
import { type DeliveryContext, eventId, inlinePayloadMaxBytes, type PayloadAttributes, recordPut, userUpdate } from '../lambdas/consumer/items';
import { emfConsumerMetrics } from '../lambdas/consumer/metrics';
import { fitsAsMap, gzipPayloadMaxBytes } from '../lambdas/consumer/records';
import { type DataRecord, routeBody } from '../lambdas/consumer/route';
import type { TerraUser } from '../lambdas/consumer/terra-events';
import { emfIngestMetrics } from '../lambdas/ingest/metrics';
import { consumerMemoryMb, defaults, limits, observability, tables } from '../lambdas/shared/definitions';
import { type Delivery, sqsMessageSize, toSqsMessage } from '../lambdas/shared/delivery';
import { JsonLogger } from '../lambdas/shared/json-logger';
import { withKeys } from '../lambdas/shared/logger';
import { signatureHeader, verifySignature } from '../lambdas/shared/signature';
import { DEFAULT_SEED, dexcomBodyRecord, simulationScenario, dataEvent, terraUser, xossActivityRecord } from '../lib/tools/fixtures';
import { type BenchContext, type BenchRow, median, timed } from './support';

/**
 * Public on-demand prices, US East (N. Virginia), USD, as published in June 2026. `sources` says
 * where each was read: AWS's own page or document where a stored copy carried the figure, else a
 * dated page quoting it; "remembered" marks the one no stored page confirmed (the last figure
 * published that we are confident of). Check https://aws.amazon.com/pricing/ before quoting one.
 */
export const awsPrices = {
  region: 'us-east-1',
  asOf: '2026-06',
  apiGatewayHttpPerMillion: 1.0, // first 300 M requests a month; metered per 512 KB
  lambdaRequestPerMillion: 0.2,
  lambdaArmPerGbSecond: 0.0000133334, // first 7.5 billion GB-s a month
  sqsStandardPerMillion: 0.4, // each 64 KB chunk of a request's payload is one request
  dynamoDbWritePerMillion: 0.625, // on-demand write request units, after the November 2024 cut
  dynamoDbStoragePerGbMonth: 0.25,
  dynamoDbPitrPerGbMonth: 0.2,
  s3PutPerThousand: 0.005,
  s3StandardPerGbMonth: 0.023, // first 50 TB
  logsIngestPerGb: 0.5, // CloudWatch Logs standard class; Lambda's logs, first 10 TB
  sources: {
    apiGateway: 'AWS whitepaper "Best Practices for Designing Amazon API Gateway Private APIs", cost optimization, table 4 (docs.aws.amazon.com)',
    lambda: 'cloudchipr.com/blog/aws-lambda-pricing (2025), quoting aws.amazon.com/lambda/pricing',
    sqs: 'cloudburn.io/blog/amazon-sqs-pricing (March 2026); factualminds.com (June 2026)',
    dynamoDbRequests: 'airbyte.com/data-engineering-resources/dynamodb-pricing (July 2025: after the November 2024 cut)',
    dynamoDbStorage: 'aws.amazon.com/dynamodb/pricing ("from $0.25 per GB-month"); PITR $0.20 remembered, no stored page confirmed it',
    s3: 'devnotes.tech, understanding AWS S3 pricing (Standard storage and PUT requests, US East)',
    logs: 'c3x.dev/blog/cloudwatch-logs-cost-optimization (us-east-1, June 2026)',
  },
} as const;
export type Prices = typeof awsPrices;

/**
 * What the model assumes rather than measures. A million deliveries a month is 0.4 a second:
 * with the 1-second batching window most consumer batches hold one message (pass more for a
 * busier stack). Round trips are warm, in-region, small-payload figures; payloads add their bytes
 * at `transferMBps`. Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB.
 */
export const assumptions = {
  messagesPerBatch: 1,
  roundTripMs: { sqsSendMessage: 8, s3PutObject: 15, dynamoDbWrite: 5 },
  transferMBps: 100,
  ingestMemoryMb: 512,
  consumerMemoryMb,
  fullVcpuMemoryMb: 1769,
};
export type Assumptions = typeof assumptions;

// ---------------------------------------------------------------------------------------------
// Item size, by https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html:
// an attribute is its name's UTF-8 bytes plus its value's: a string its UTF-8 bytes, binary its
// raw bytes, a boolean or null 1, a number 1 per two significant digits plus 1, a map or list 3
// plus each element (and a map entry's name) plus 1 per element, a set the sum of its members.

/**
 * A number's bytes. DynamoDB keeps significant digits in pairs aligned on the decimal point, plus
 * one byte (so 1.5 takes 3 bytes where "digits / 2 + 1" says 2), one more when negative, 21 at
 * most; zero is 1 byte. The alignment is what Zac Charles measured against consumed capacity
 * (https://zaccharles.medium.com/calculating-a-dynamodb-items-size-and-consumed-capacity-d1728942eb7c).
 */
export function numberBytes(text: string): number {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text.trim());
  if (!match) throw new Error(`not a DynamoDB number: ${text}`);
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  const all = `${whole}${fraction}`;
  const leading = all.length - all.replace(/^0+/, '').length;
  const digits = all.slice(leading).replace(/0+$/, '');
  if (digits === '') return 1;
  // Powers of ten of the first and last significant digits; a pair holds powers 2k+1 and 2k.
  const first = whole.length + Number(exponent) - leading - 1;
  const pairs = Math.floor(first / 2) - Math.floor((first - digits.length + 1) / 2) + 1;
  return Math.min(21, pairs + 1 + (sign ? 1 : 0));
}

export function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + valueBytes(v) + 1, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + valueBytes(v) + 1, 0);
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberBytes(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.length, 0);
  throw new Error(`unknown attribute value ${JSON.stringify(value)}`);
}

export const itemBytes = (item: Record<string, AttributeValue>) =>
  Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);

/** A standard write: 1 unit per started KB, the larger of the stored and new item (conditional or not). */
export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
/** Storage counts 100 bytes of indexing overhead per item (and per index entry). */
export const storedBytes = (bytes: number) => bytes + 100;

/** As the product's document client marshalls (lambdas/shared/dynamodb.ts). */
export const marshallItem = (item: Record<string, unknown>) => marshall(item, { removeUndefinedValues: true, allowImpreciseNumbers: true });

/** The data table's index entry of an item (its keys and projected attributes), if the item is in the index. */
export function indexEntry(item: Record<string, AttributeValue>): Record<string, AttributeValue> | undefined {
  const [index] = tables.data.globalSecondaryIndexes;
  const keys = [tables.data.partitionKey.name, tables.data.sortKey.name, index.partitionKey.name, index.sortKey.name];
  if (keys.some((name) => item[name] === undefined)) return undefined;
  return Object.fromEntries([...keys, ...index.nonKeyAttributes].filter((name) => item[name] !== undefined).map((name) => [name, item[name]]));
}

// ---------------------------------------------------------------------------------------------
// The items of one record, and where the product puts it.

export type Form = 'map' | 'gzip' | 's3';

export interface StoredItem {
  form: Form;
  bytes: number;
  writeUnits: number;
  marshalled: Record<string, AttributeValue>;
}

export interface RecordItems {
  type: string;
  context: DeliveryContext;
  user: TerraUser;
  record: DataRecord;
  jsonBytes: number;
  /** The map form, whatever its size: over 400 KB DynamoDB would refuse it. */
  map: StoredItem;
  gzip: StoredItem;
  /** The index entry's bytes, when the record has a start time. */
  indexBytes?: number;
  /**
   * Scores to keep (records.ts): a copy whose `data_enrichment` holds nulls is put under the
   * `nothing_to_keep` condition, refused where the stored copy has scores (a write all the same),
   * and put again merged. A null `data_enrichment` (the simulator's) passes the first put.
   */
  mergesEnrichment: boolean;
}

const payloadS3Url = 's3://terra-ingest-payloads-0123456789ab/records/u/r/1795334400123-00000000-0000-4000-8000-000000000000.json';

function storedItem(form: Form, type: string, user: TerraUser, record: DataRecord, context: DeliveryContext, attributes: PayloadAttributes): StoredItem {
  const marshalled = marshallItem(recordPut(tables.data.localName, type, user, record, context, attributes).Item!);
  const bytes = itemBytes(marshalled);
  return { form, bytes, writeUnits: writeUnits(bytes), marshalled };
}

export function recordItems(type: string, user: TerraUser, record: DataRecord, context: DeliveryContext): RecordItems {
  const json = JSON.stringify(record.record);
  const map = storedItem('map', type, user, record, context, { payload: record.record });
  const gzip = storedItem('gzip', type, user, record, context, { payload_gzip: gzipSync(json) });
  const entry = indexEntry(map.marshalled);
  const enrichment = record.record.data_enrichment;
  const mergesEnrichment = typeof enrichment === 'object' && enrichment !== null && Object.values(enrichment).some((score) => score === null);
  return { type, context, user, record, jsonBytes: Buffer.byteLength(json), map, gzip, indexBytes: entry && itemBytes(entry), mergesEnrichment };
}

/**
 * Where the consumer puts a record (records.ts `payloadFor`), with the map limit a setting:
 * a map up to `gzipAboveBytes` of JSON, if it nests as DynamoDB allows and the item stays under
 * 400 KB; else gzipped up to 350 KiB; else in S3, the item keeping a pointer.
 */
export function storedForm(items: RecordItems, gzipAboveBytes = inlinePayloadMaxBytes): StoredItem {
  if (items.jsonBytes <= gzipAboveBytes && fitsAsMap(items.record.record) && items.map.bytes <= limits.dynamoDbItemBytes) return items.map;
  if (items.gzip.marshalled.payload_gzip.B!.length <= gzipPayloadMaxBytes) return items.gzip;
  return storedItem('s3', items.type, items.user, items.record, items.context, { payload_s3: payloadS3Url });
}

/** The delivery metadata the webhook door gives a body (a Terra-minted trace id, no backfill reference). */
export function deliveryContext(body: Buffer): DeliveryContext {
  return {
    signatureTimestamp: 1_795_334_400,
    orderingTimestamp: 1_795_334_400_123,
    receivedAt: '2026-11-22T08:00:00.123Z',
    traceId: '5f0e6a4c-2b1d-4c8e-9a7f-3d2c1b0a9e8f',
    orderingTs: 1_795_334_400_123,
    bodySha256: eventId(body),
  };
}

// ---------------------------------------------------------------------------------------------
// The gzip threshold.

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
    record: xossActivityRecord({ user, start: Date.UTC(2026, 10, 21, 7), seed, durationSeconds, sampleIntervalSeconds: 2 }) as unknown as Record<string, unknown>,
  }));
  const point = ({ jsonBytes, map, gzip }: RecordItems): SizePoint => ({ jsonBytes, mapWriteUnits: map.writeUnits, gzipWriteUnits: gzip.writeUnits });
  return [
    ...[...bodies, ...rides].map(({ type, record }) => {
      const route = routeBody(JSON.stringify(dataEvent(type as 'body', user, [record])));
      if (route.kind !== 'data') throw new Error(`a ${type} fixture did not route as data`);
      return point(recordItems(type, route.user, route.records[0], deliveryContext(Buffer.from(type))));
    }),
    ...scenarioDeliveries(seed).flatMap((delivery) => delivery.records.map(point)),
  ];
}

// ---------------------------------------------------------------------------------------------
// Deliveries: what each one makes the services do.

export interface DeliveryCase {
  name: string;
  body: Buffer;
  context: DeliveryContext;
  /** Bytes SQS counts for its message: the body and the metadata attributes. */
  messageBytes: number;
  /** Routing found a user: the archive gets its index marker too. */
  userKnown: boolean;
  records: RecordItems[];
  /** A connection change's UpdateItem on terra-users and its reference-id index entry. */
  userWriteUnits: number;
  /** Measured on this machine, before Lambda's CPU share is applied. */
  cpuMs: { ingest: number; consumer: number; record: Map<RecordItems, Partial<Record<Form, number>>> };
  /** CloudWatch Logs bytes: per request of the ingest function, per message and per invocation of the consumer. */
  logBytes: { ingest: number; consumerMessage: number; consumerInvocation: number };
}

/** The simulator's day (`npm run simulate`), as the consumer routes and stores it. */
export function scenarioDeliveries(seed = DEFAULT_SEED): Omit<DeliveryCase, 'cpuMs' | 'logBytes'>[] {
  return simulationScenario({ now: Date.parse('2026-11-22T08:00:00Z'), seed }).deliveries.map(({ name, body: event }) => {
    const body = Buffer.from(JSON.stringify(event));
    const context = deliveryContext(body);
    const route = routeBody(body.toString('utf8'));
    const records = route.kind === 'data' ? route.records.map((record) => recordItems(route.type, route.user, record, context)) : [];
    let userWriteUnits = 0;
    if (route.kind === 'connection') {
      for (const change of route.changes) {
        const update = userUpdate(tables.users.localName, route.type, change, context);
        const values = update.ExpressionAttributeValues as Record<string, unknown>;
        // The attributes it sets are its values, but for the condition's tie-breaker.
        const user = Object.fromEntries(Object.entries(values).filter(([key]) => key !== ':tie').map(([key, value]) => [key.slice(1), value]));
        userWriteUnits += 2 * writeUnits(itemBytes(marshallItem({ ...user, user_id: change.userId })));
      }
    }
    const userKnown = route.kind === 'data' || (route.kind === 'connection' ? route.changes.length > 0 : route.userId !== undefined);
    const messageBytes = sqsMessageSize(toSqsMessage({ ...context, body } as Delivery));
    return { name, body, context, messageBytes, userKnown, records, userWriteUnits };
  });
}

async function cpuMs(work: () => unknown, rounds: number): Promise<number> {
  await work();
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) samples.push(await timed(work));
  return median(samples);
}

/** The CPU work of each function for one delivery, with the product's own functions. */
async function measureCpu(delivery: Omit<DeliveryCase, 'cpuMs' | 'logBytes'>, rounds: number): Promise<DeliveryCase['cpuMs']> {
  const { body, context } = delivery;
  const secret = 'bench-secret';
  const nowSeconds = context.signatureTimestamp;
  const headers = { 'content-type': 'application/json', 'terra-signature': signatureHeader(secret, body, nowSeconds) };
  const event = JSON.stringify({ version: '2.0', routeKey: 'POST /webhook', headers, body: body.toString('utf8'), isBase64Encoded: false });
  const ingest = await cpuMs(() => {
    const parsed = JSON.parse(event);
    const raw = Buffer.from(parsed.body, 'utf8');
    verifySignature(parsed.headers['terra-signature'], raw, { secrets: [secret], toleranceSeconds: 300, nowSeconds });
    JSON.stringify(toSqsMessage({ ...context, body: raw } as Delivery));
  }, rounds);
  const consumer = await cpuMs(() => (routeBody(body.toString('utf8')), eventId(body)), rounds);
  const record = new Map<RecordItems, Partial<Record<Form, number>>>();
  for (const items of delivery.records) {
    const forms: Partial<Record<Form, number>> = {};
    for (const stored of [items.map, items.gzip]) {
      if (stored.bytes > limits.dynamoDbItemBytes) continue; // DynamoDB would refuse it: never written
      forms[stored.form] = await cpuMs(() => {
        const json = JSON.stringify(items.record.record);
        fitsAsMap(items.record.record);
        const compressed = stored.form === 'gzip' ? gzipSync(json) : undefined;
        const attributes: PayloadAttributes = compressed ? { payload_gzip: compressed } : { payload: items.record.record };
        const item = marshallItem(recordPut(tables.data.localName, items.type, items.user, items.record, context, attributes).Item!);
        // The request body the SDK sends: JSON, binary as base64.
        JSON.stringify(compressed ? { ...item, payload_gzip: { B: compressed.toString('base64') } } : item);
      }, rounds);
    }
    record.set(items, forms);
  }
  return { ingest, consumer, record };
}

const requestId = '8f2b6a1e-3c4d-4e5f-9a8b-7c6d5e4f3a2b';
/** Lambda's own START, END and REPORT lines of one invocation (text log format). */
const platformBytes = (memoryMb: number) =>
  Buffer.byteLength(
    `START RequestId: ${requestId} Version: $LATEST\nEND RequestId: ${requestId}\n` +
      `REPORT RequestId: ${requestId}\tDuration: 21.37 ms\tBilled Duration: 22 ms\tMemory Size: ${memoryMb} MB\tMax Memory Used: 97 MB\t\n`,
  );

/** One line per request in the API's access log group (lib/constructs/webhook-api.ts). */
const accessLogBytes = Buffer.byteLength(
  JSON.stringify({
    requestId: 'Jx9kQh3yIAMEb4w=', ip: '18.133.218.210', requestTime: '22/Nov/2026:08:00:00 +0000', routeKey: 'POST /webhook', status: '200',
    protocol: 'HTTP/1.1', responseLength: '23', responseLatency: '31', integrationStatus: '200', integrationLatency: '29', integrationError: '-', error: '-',
  }) + '\n',
);

/** A logger of the product's, with the invocation's keys as Lambda gives them, counting its bytes. */
function countingLogger(service: string, memoryMb: number, count: (line: string) => void): JsonLogger {
  const logger = new JsonLogger({ serviceName: service, write: count, now: () => 1_795_334_400_123 });
  const functionName = `TerraIngest-${service}-Function1A2B3C4D-Ab1Cd2Ef3Gh4`;
  const context = { functionName, invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`, memoryLimitInMB: String(memoryMb), awsRequestId: requestId };
  // Twice: a warm container's lines, cold_start false.
  for (let n = 0; n < 2; n++) logger.setContext(context as unknown as Context);
  return logger;
}

/** The bytes of the lines the functions write for one delivery, through the product's own logger and metrics. */
function measureLogBytes(delivery: Omit<DeliveryCase, 'cpuMs' | 'logBytes'>, a: Assumptions): DeliveryCase['logBytes'] {
  const { logKeys, services } = observability;
  let bytes = 0;
  const count = (line: string) => void (bytes += Buffer.byteLength(line) + 1);
  const measure = (work: () => void) => {
    bytes = 0;
    const trace = process.env._X_AMZN_TRACE_ID;
    // Lambda sets it for every invocation; the logger copies its root to xray_trace_id.
    process.env._X_AMZN_TRACE_ID = 'Root=1-67a1b2c3-4d5e6f708192a3b4c5d6e7f8;Parent=1a2b3c4d5e6f7a8b;Sampled=0;Lineage=1:abcd1234:0';
    try {
      work();
    } finally {
      if (trace === undefined) delete process.env._X_AMZN_TRACE_ID;
      else process.env._X_AMZN_TRACE_ID = trace;
    }
    return bytes;
  };
  const keys = { [logKeys.traceId]: delivery.context.traceId, [logKeys.terraReference]: delivery.context.terraReference };
  const bodyBytes = delivery.body.length;
  const ingest = measure(() => {
    emfIngestMetrics(count, () => 1_795_334_400_123).publish({ outcome: 'accepted', bodyBytes, claimChecked: false });
    withKeys(countingLogger(services.ingest, a.ingestMemoryMb, count), keys).info('delivery accepted', { [logKeys.messageId]: requestId, body_bytes: bodyBytes, claim_checked: false });
  });
  const written = Math.max(1, delivery.records.length);
  const consumerMessage = measure(() =>
    // As batch.ts logs each delivery.
    withKeys(countingLogger(services.consumer, a.consumerMemoryMb, count), { ...keys, [logKeys.messageId]: requestId }).info('delivery processed', {
      door: 'webhook', route: delivery.records.length > 0 ? 'data' : 'connection', type: delivery.records[0]?.type ?? delivery.name.split(' ')[0],
      written, skipped: 0, payload_bytes: bodyBytes, [logKeys.userId]: delivery.records[0]?.user.user_id,
    }),
  );
  const consumerInvocation = measure(() => {
    const metrics = emfConsumerMetrics(count, () => 1_795_334_400_123);
    metrics.count({ route: 'data', type: 'body', written, skipped: 0, payloadBytes: bodyBytes });
    metrics.flush();
  });
  return {
    ingest: ingest + platformBytes(a.ingestMemoryMb) + accessLogBytes,
    consumerMessage,
    consumerInvocation: consumerInvocation + platformBytes(a.consumerMemoryMb),
  };
}

// ---------------------------------------------------------------------------------------------
// From usage to dollars.

export interface Usage {
  apiGatewayRequests: number;
  ingestRequests: number;
  ingestGbSeconds: number;
  consumerRequests: number;
  consumerGbSeconds: number;
  sqsRequests: number;
  writeUnits: number;
  dynamoDbGbMonths: number;
  pitrGbMonths: number;
  s3Puts: number;
  s3GbMonths: number;
  logBytes: number;
}

const GiB = 2 ** 30;
/** Archived deliveries and their markers expire after 30 days: about one month of storage each. */
const archiveMonths = 30 / 30.44;

/**
 * One delivery's usage. `storage` picks each record's stored item. The floor is the least any
 * implementation must do for the same delivery: verify, queue and store its records gzipped with
 * one write each; no archive, index entry, second put of an enrichment merge, backups or logs.
 */
export function deliveryUsage(delivery: DeliveryCase, storage: (items: RecordItems) => StoredItem, a: Assumptions, floor = false): Usage {
  const { roundTripMs: rt, messagesPerBatch: batch } = a;
  const transferMs = (bytes: number) => bytes / (a.transferMBps * 1e3);
  const cpuShare = (memoryMb: number) => Math.max(1, a.fullVcpuMemoryMb / memoryMb);
  const chunks = Math.ceil(delivery.messageBytes / (64 * 1024));
  const ingestMs = Math.ceil(delivery.cpuMs.ingest * cpuShare(a.ingestMemoryMb) + rt.sqsSendMessage + transferMs(delivery.messageBytes));
  let consumerCpu = delivery.cpuMs.consumer;
  let writesMs = 0;
  let writeUnitsUsed = delivery.userWriteUnits;
  let tableBytes = 0;
  let s3Puts = floor ? 0 : 1 + (delivery.userKnown ? 1 : 0);
  let s3Bytes = floor ? 0 : delivery.body.length * archiveMonths;
  for (const items of delivery.records) {
    const stored = floor ? items.gzip : storage(items);
    consumerCpu += delivery.cpuMs.record.get(items)?.[stored.form === 's3' ? 'gzip' : stored.form] ?? 0;
    writeUnitsUsed += stored.writeUnits;
    tableBytes += storedBytes(stored.bytes);
    let recordMs = rt.dynamoDbWrite + transferMs(stored.bytes);
    if (stored.form === 's3') {
      s3Puts += 1;
      s3Bytes += items.jsonBytes;
      recordMs += rt.s3PutObject + transferMs(items.jsonBytes);
    }
    if (!floor && items.indexBytes !== undefined) {
      writeUnitsUsed += writeUnits(items.indexBytes);
      tableBytes += storedBytes(items.indexBytes);
    }
    if (!floor && items.mergesEnrichment) {
      writeUnitsUsed += stored.writeUnits;
      recordMs += rt.dynamoDbWrite + transferMs(stored.bytes);
    }
    writesMs += recordMs;
  }
  // A delivery's records are written eight at a time (process.ts).
  writesMs /= Math.max(1, Math.min(8, delivery.records.length));
  const archiveMs = floor ? 0 : (delivery.userKnown ? rt.s3PutObject : 0) + rt.s3PutObject + transferMs(delivery.body.length);
  const consumerMs = consumerCpu * cpuShare(a.consumerMemoryMb) + archiveMs + writesMs;
  return {
    apiGatewayRequests: Math.max(1, Math.ceil(delivery.body.length / (512 * 1024))),
    ingestRequests: 1,
    ingestGbSeconds: (ingestMs / 1000) * (a.ingestMemoryMb / 1024),
    consumerRequests: 1 / batch,
    consumerGbSeconds: (consumerMs / 1000) * (a.consumerMemoryMb / 1024),
    // SendMessage per 64 KB chunk; ReceiveMessage by the chunks it returns; one DeleteMessageBatch a batch.
    sqsRequests: chunks + (batch === 1 ? chunks : Math.max(1 / batch, delivery.messageBytes / (64 * 1024))) + 1 / batch,
    writeUnits: writeUnitsUsed,
    dynamoDbGbMonths: tableBytes / GiB,
    pitrGbMonths: floor ? 0 : tableBytes / GiB,
    s3Puts,
    s3GbMonths: s3Bytes / GiB,
    logBytes: floor ? 0 : delivery.logBytes.ingest + delivery.logBytes.consumerMessage + delivery.logBytes.consumerInvocation / batch,
  };
}

export const services = [
  'API Gateway', 'Lambda, ingest', 'Lambda, consumer', 'SQS', 'DynamoDB writes', 'DynamoDB storage and PITR, 1 month',
  'S3 PUT', 'S3 storage, 1 month', 'CloudWatch Logs',
] as const;
export type Service = (typeof services)[number];

export function dollars(usage: Usage, p: Prices = awsPrices): Record<Service, number> {
  const perMillion = (count: number, price: number) => (count * price) / 1e6;
  return {
    'API Gateway': perMillion(usage.apiGatewayRequests, p.apiGatewayHttpPerMillion),
    'Lambda, ingest': perMillion(usage.ingestRequests, p.lambdaRequestPerMillion) + usage.ingestGbSeconds * p.lambdaArmPerGbSecond,
    'Lambda, consumer': perMillion(usage.consumerRequests, p.lambdaRequestPerMillion) + usage.consumerGbSeconds * p.lambdaArmPerGbSecond,
    SQS: perMillion(usage.sqsRequests, p.sqsStandardPerMillion),
    'DynamoDB writes': perMillion(usage.writeUnits, p.dynamoDbWritePerMillion),
    'DynamoDB storage and PITR, 1 month': usage.dynamoDbGbMonths * p.dynamoDbStoragePerGbMonth + usage.pitrGbMonths * p.dynamoDbPitrPerGbMonth,
    'S3 PUT': (usage.s3Puts * p.s3PutPerThousand) / 1e3,
    'S3 storage, 1 month': usage.s3GbMonths * p.s3StandardPerGbMonth,
    'CloudWatch Logs': (usage.logBytes / GiB) * p.logsIngestPerGb,
  };
}

/** Dollars per million deliveries of the mix, each delivery of it equally often. */
export function perMillion(mix: readonly DeliveryCase[], usage: (delivery: DeliveryCase) => Usage, p: Prices = awsPrices): Record<Service, number> {
  const total = Object.fromEntries(services.map((service) => [service, 0])) as Record<Service, number>;
  for (const delivery of mix) {
    const each = dollars(usage(delivery), p);
    for (const service of services) total[service] += (each[service] * 1e6) / mix.length;
  }
  return total;
}

export const sum = (costs: Record<Service, number>) => services.reduce((total, service) => total + costs[service], 0);

// ---------------------------------------------------------------------------------------------
// The run.

export interface CostReport {
  prices: Prices;
  assumptions: Assumptions;
  /** Every delivery of the simulator's day; `mix` is its data deliveries. */
  deliveries: DeliveryCase[];
  mix: DeliveryCase[];
  mixLabel: string;
  sweep: SizePoint[];
  pays: { below?: number; from?: number };
  today: Record<Service, number>;
  recommended: Record<Service, number>;
  floor: Record<Service, number>;
}

export async function measureCost(context: BenchContext, overrides: Partial<Assumptions> = {}): Promise<CostReport> {
  const a: Assumptions = { ...assumptions, ...overrides };
  const rounds = context.quick ? 5 : 30;
  const deliveries: DeliveryCase[] = [];
  for (const delivery of scenarioDeliveries()) {
    context.progress(`cost: ${delivery.name}`);
    deliveries.push({ ...delivery, cpuMs: await measureCpu(delivery, rounds), logBytes: measureLogBytes(delivery, a) });
  }
  // Connection events come once in a user's life, data all day long: the mix is the day's data.
  const mix = deliveries.filter((delivery) => delivery.records.length > 0);
  const sweep = sizePoints();
  return {
    prices: awsPrices,
    assumptions: a,
    deliveries,
    mix,
    mixLabel: `the simulator's day of data: ${mix.length} deliveries, ${kib(mix.reduce((total, d) => total + d.body.length, 0) / mix.length)} a body on average`,
    sweep,
    pays: gzipPays(sweep),
    today: perMillion(mix, (d) => deliveryUsage(d, (items) => storedForm(items), a)),
    recommended: perMillion(mix, (d) => deliveryUsage(d, (items) => storedForm(items, recommendedGzipAboveBytes), a)),
    floor: perMillion(mix, (d) => deliveryUsage(d, (items) => items.gzip, a, true)),
  };
}

const kib = (bytes: number) => (bytes < 1024 ? `${Math.round(bytes)} B` : `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KiB`);
const usd = (value: number) => (value === 0 ? '$0' : `$${value < 0.1 ? value.toFixed(4) : value.toFixed(2)}`);
const form = (stored: StoredItem) => `${stored.form} ${kib(stored.bytes)}, ${stored.writeUnits} WCU`;

export function costRows(report: CostReport): BenchRow[] {
  const rows: BenchRow[] = report.mix.flatMap((delivery) =>
    delivery.records.map((items): BenchRow => {
      const fits = items.map.bytes <= limits.dynamoDbItemBytes;
      return {
        what: `cost: ${delivery.name} item`,
        product: fits ? form(items.map) : `map ${kib(items.map.bytes)}: over DynamoDB's 400 KB`,
        floor: form(items.gzip),
        ratio: fits ? items.map.writeUnits / items.gzip.writeUnits : undefined,
        target: '',
      };
    }),
  );
  const where = `${report.prices.region}, prices of ${report.prices.asOf}`;
  const floor = sum(report.floor);
  rows.push(
    { what: `cost per million deliveries, records kept as maps up to 300 KiB (before recordMapMaxBytes; ${report.mixLabel}; ${where})`, product: usd(sum(report.today)), floor: usd(floor), ratio: sum(report.today) / floor, target: '' },
    {
      what: `cost per million deliveries, records gzipped above ${kib(recommendedGzipAboveBytes)} (the default recordMapMaxBytes; same mix)`,
      product: usd(sum(report.recommended)),
      floor: usd(floor),
      ratio: sum(report.recommended) / floor,
      target: '',
    },
  );
  return rows;
}

let lastReport: CostReport | undefined;

export async function run(context: BenchContext): Promise<BenchRow[]> {
  lastReport = await measureCost(context);
  return costRows(lastReport);
}

const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.map((cell) => cell.replaceAll('|', '/')).join(' | ')} |`)].join('\n');

/** The longer section for bench/RESULTS.md: the per-service breakdown and how it was reached. */
export async function breakdown(report?: CostReport): Promise<string> {
  report ??= lastReport ?? (await measureCost({ quick: true, progress: () => {} }));
  const { prices: p, assumptions: a } = report;
  const threshold = kib(recommendedGzipAboveBytes);
  const below = report.sweep.find((point) => point.jsonBytes === report.pays.below);
  const each = (delivery: DeliveryCase, gzipAbove = inlinePayloadMaxBytes) => sum(dollars(deliveryUsage(delivery, (items) => storedForm(items, gzipAbove), a))) * 1e6;
  const cpu = (items: RecordItems, delivery: DeliveryCase) => {
    const forms = delivery.cpuMs.record.get(items) ?? {};
    return `${forms.map?.toFixed(2) ?? '-'} / ${forms.gzip?.toFixed(2) ?? '-'} ms`;
  };
  return [
    `## Cost (${p.region}, on-demand prices of ${p.asOf})`,
    '',
    `Dollars per million deliveries of ${report.mixLabel} (connection events, once in a user's life, left out; ` +
      'each kind is priced on its own below). "Today" stores a record as a map up to 300 KiB of JSON, as the consumer does now; ' +
      `the next column gzips every record above ${threshold}; the floor is the least any implementation must do for the same ` +
      'deliveries: verify, queue, and store each record gzipped with one write, with no archive, index, backups or logs. ' +
      'Storage columns are one month of keeping what the deliveries stored.',
    '',
    table(
      ['service', 'maps up to 300 KiB (before)', `gzip above ${threshold} (default)`, 'floor'],
      [...services.map((s) => [s, usd(report.today[s]), usd(report.recommended[s]), usd(report.floor[s])]), ['**total**', usd(sum(report.today)), usd(sum(report.recommended)), usd(sum(report.floor))]],
    ),
    '',
    '### Each record of the day, as the consumer writes it (`recordPut`)',
    '',
    'Item sizes by DynamoDB\'s rules (attribute names count; a map or list costs 3 bytes and 1 per element); a write costs 1 WCU per started KB, ' +
      'the same for a conditional write, and the data table\'s `user-type-start-time` index entry 1 more. CPU is the consumer\'s work for the ' +
      'record measured here (stringify, gzip, marshall, the request body), median. Each record replaces a stored copy of its size (Terra ' +
      're-sends records as they fill in): a write costs the larger of the two, so the same; the simulator\'s records carry no scores to keep, ' +
      'so none is read first (records.ts, `nothing_to_keep`).',
    '',
    table(
      ['record', 'JSON', 'map item', 'gzip item', 'index entry', 'merges enrichment', 'consumer CPU map / gzip'],
      report.mix.flatMap((d) =>
        d.records.map((items) => [d.name, kib(items.jsonBytes), form(items.map), form(items.gzip), items.indexBytes ? `${items.indexBytes} B` : 'none', items.mergesEnrichment ? 'yes: 2 writes' : 'no', cpu(items, d)]),
      ),
    ),
    '',
    '### Each kind of delivery, $ per million of that kind',
    '',
    table(
      ['delivery', 'body', 'SQS message', 'maps up to 300 KiB (before)', `gzip above ${threshold} (default)`],
      report.deliveries.map((d) => [d.name, kib(d.body.length), kib(d.messageBytes), usd(each(d)), usd(each(d, recommendedGzipAboveBytes))]),
    ),
    '',
    `### The gzip threshold: ${threshold}`,
    '',
    'Records of growing size from the fixture builders (a Dexcom day of 0 to 288 readings, Xoss rides of 30 s to 1 h) and the day\'s records, ' +
      'each written both ways. A map costs one write unit while the whole item stays within 1 KB, and the item\'s other attributes ' +
      '(keys, times, hashes) take ~0.4 KiB. Every record from ' +
      `${report.pays.from === undefined ? 'none' : kib(report.pays.from)} of JSON up saves at least half its write units gzipped, and at least one; ` +
      `${below ? `the largest record below that, ${kib(below.jsonBytes)}, takes ${below.mapWriteUnits} as a map and ${below.gzipWriteUnits} gzipped. ` : ''}` +
      `So gzip above ${threshold}: the largest round size between the two, which keeps every record that costs nothing more as a map readable. ` +
      'Storage shrinks alike, and the consumer\'s CPU for a gzipped record is about that of marshalling its map, ' +
      'less for large ones (above). ' +
      'What is given up is reading those records in the DynamoDB console; `npm run inspect` and `readRecord` read both forms. ' +
      'Longer ids (a customer\'s reference_id, a backfill\'s terra_reference) move the boundary down by their bytes: ' +
      'a rule on the map item\'s size (map while the item is within 1 KB, by `itemBytes`) would follow it exactly.',
    '',
    table(['JSON', 'map WCU', 'gzip WCU'], [...report.sweep].sort((x, y) => x.jsonBytes - y.jsonBytes).map((s) => [kib(s.jsonBytes), String(s.mapWriteUnits), String(s.gzipWriteUnits)])),
    '',
    '### Prices and assumptions',
    '',
    table(
      ['price', 'figure', 'source'],
      [
        ['API Gateway HTTP API, per million requests (512 KB each)', usd(p.apiGatewayHttpPerMillion), p.sources.apiGateway],
        ['Lambda Arm, per million requests / per GB-second', `${usd(p.lambdaRequestPerMillion)} / $${p.lambdaArmPerGbSecond}`, p.sources.lambda],
        ['SQS standard, per million requests (64 KB each)', usd(p.sqsStandardPerMillion), p.sources.sqs],
        ['DynamoDB on-demand, per million write request units', `$${p.dynamoDbWritePerMillion}`, p.sources.dynamoDbRequests],
        ['DynamoDB storage / PITR, per GB-month', `${usd(p.dynamoDbStoragePerGbMonth)} / ${usd(p.dynamoDbPitrPerGbMonth)}`, p.sources.dynamoDbStorage],
        ['S3 PUT per thousand / Standard per GB-month', `${usd(p.s3PutPerThousand)} / ${usd(p.s3StandardPerGbMonth)}`, p.sources.s3],
        ['CloudWatch Logs ingestion, per GB', usd(p.logsIngestPerGb), p.sources.logs],
      ],
    ),
    '',
    `- Durations: each function's CPU work measured here, scaled by Lambda's CPU share (1 vCPU at ${a.fullVcpuMemoryMb} MB; ingest ${a.ingestMemoryMb} MB, ` +
      `consumer ${a.consumerMemoryMb} MB), plus assumed round trips: SendMessage ${a.roundTripMs.sqsSendMessage} ms, PutObject ${a.roundTripMs.s3PutObject} ms, ` +
      `a DynamoDB write ${a.roundTripMs.dynamoDbWrite} ms, payloads at ${a.transferMBps} MB/s (the SDK's own work included). ` +
      `${a.messagesPerBatch} message(s) per consumer batch. \`measureCost(context, overrides)\` takes other figures.`,
    '- Log bytes are the real lines: the ingest EMF line and `delivery accepted`, the consumer\'s `delivery processed` and metrics flush, ' +
      'through the functions\' own JsonLogger and EMF writers with a Lambda context, plus Lambda\'s START/END/REPORT lines and the API\'s access log line.',
    '- Not per delivery, so left out: Lambda\'s SQS pollers\' empty receives around the clock, the signing secret ($0.40 a month, one read ' +
      'per container each 5 minutes), custom metrics and alarms, log storage after the first month, INIT time of cold starts, data transfer ' +
      '(in-region and inbound are free). Off by default, so left out: X-Ray, a customer-managed KMS key, the SQS and S3 destinations.',
  ].join('\n');
}

/**
 * The deliveries the cost is reckoned for, the simulator's day as the consumer routes and stores
 * it, and what is measured of each on this machine with the product's own functions: the CPU work
 * of each function and the bytes of the log lines they write.
 */
import type { Context } from 'aws-lambda';
import { gzipSync } from 'node:zlib';
import type { DeliveryContext } from '../../lambdas/consumer/delivery-context';
import { eventId, type PayloadAttributes, recordPut, userUpdate } from '../../lambdas/consumer/items';
import { emfConsumerMetrics } from '../../lambdas/consumer/metrics';
import { fitsAsMap } from '../../lambdas/consumer/records';
import { routeBody } from '../../lambdas/consumer/route';
import { emfIngestMetrics } from '../../lambdas/ingest/metrics';
import { dataAttributes } from '../../lambdas/shared/attributes';
import { limits, observability, tables } from '../../lambdas/shared/definitions';
import { type Delivery, sqsMessageSize, toSqsMessage } from '../../lambdas/shared/delivery';
import { JsonLogger } from '../../lambdas/shared/json-logger';
import { withKeys } from '../../lambdas/shared/logger';
import { signatureHeader, verifySignature } from '../../lambdas/shared/signature';
import { userItemKey } from '../../lambdas/shared/table-items';
import { DEFAULT_SEED, simulationScenario } from '../../lib/tools/fixtures';
import { median, timed } from '../support';
import { itemBytes, marshallItem, writeUnits } from './item-size';
import type { Assumptions } from './prices';
import { deliveryContext, type Form, type RecordItems, recordItems } from './records';

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
        const user = Object.fromEntries(
          Object.entries(values)
            .filter(([key]) => key !== ':tie')
            .map(([key, value]) => [key.slice(1), value]),
        );
        userWriteUnits += 2 * writeUnits(itemBytes(marshallItem({ ...user, ...userItemKey(change.userId) })));
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
export async function measureCpu(delivery: Omit<DeliveryCase, 'cpuMs' | 'logBytes'>, rounds: number): Promise<DeliveryCase['cpuMs']> {
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
  const consumer = await cpuMs(() => {
    routeBody(body.toString('utf8'));
    eventId(body);
  }, rounds);
  const record = new Map<RecordItems, Partial<Record<Form, number>>>();
  for (const items of delivery.records) {
    const forms: Partial<Record<Form, number>> = {};
    for (const stored of [items.map, items.gzip]) {
      if (stored.bytes > limits.dynamoDbItemBytes) continue; // DynamoDB would refuse it: never written
      forms[stored.form] = await cpuMs(() => {
        const json = JSON.stringify(items.record.record);
        fitsAsMap(items.record.record);
        const compressed = stored.form === 'gzip' ? gzipSync(json) : undefined;
        const attributes: PayloadAttributes = compressed
          ? { [dataAttributes.payloadGzip]: compressed }
          : { [dataAttributes.payload]: items.record.record };
        const item = marshallItem(recordPut(tables.data.localName, items.type, items.user, items.record, context, attributes).Item!);
        // The request body the SDK sends: JSON, binary as base64.
        JSON.stringify(compressed ? { ...item, [dataAttributes.payloadGzip]: { B: compressed.toString('base64') } } : item);
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
  `${JSON.stringify({
    requestId: 'Jx9kQh3yIAMEb4w=',
    ip: '18.133.218.210',
    requestTime: '22/Nov/2026:08:00:00 +0000',
    routeKey: 'POST /webhook',
    status: '200',
    protocol: 'HTTP/1.1',
    responseLength: '23',
    responseLatency: '31',
    integrationStatus: '200',
    integrationLatency: '29',
    integrationError: '-',
    error: '-',
  })}\n`,
);

/** A logger of the product's, with the invocation's keys as Lambda gives them, counting its bytes. */
function countingLogger(service: string, memoryMb: number, count: (line: string) => void): JsonLogger {
  const logger = new JsonLogger({ serviceName: service, write: count, now: () => 1_795_334_400_123 });
  const functionName = `TerraIngest-${service}-Function1A2B3C4D-Ab1Cd2Ef3Gh4`;
  const context = {
    functionName,
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
  };
  // Twice: a warm container's lines, cold_start false.
  for (let n = 0; n < 2; n++) logger.setContext(context as unknown as Context);
  return logger;
}

/** The bytes of the lines the functions write for one delivery, through the product's own logger and metrics. */
export function measureLogBytes(delivery: Omit<DeliveryCase, 'cpuMs' | 'logBytes'>, a: Assumptions): DeliveryCase['logBytes'] {
  const { logKeys, services } = observability;
  let bytes = 0;
  const count = (line: string) => {
    bytes += Buffer.byteLength(line) + 1;
  };
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
    withKeys(countingLogger(services.ingest, a.ingestMemoryMb, count), keys).info('delivery accepted', {
      [logKeys.messageId]: requestId,
      body_bytes: bodyBytes,
      claim_checked: false,
    });
  });
  const written = Math.max(1, delivery.records.length);
  const consumerMessage = measure(() =>
    // As batch.ts logs each delivery.
    withKeys(countingLogger(services.consumer, a.consumerMemoryMb, count), { ...keys, [logKeys.messageId]: requestId }).info(
      'delivery processed',
      {
        door: 'webhook',
        route: delivery.records.length > 0 ? 'data' : 'connection',
        type: delivery.records[0]?.type ?? delivery.name.split(' ')[0],
        written,
        skipped: 0,
        payload_bytes: bodyBytes,
        [logKeys.userId]: delivery.records[0]?.user.user_id,
      },
    ),
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

/**
 * From a delivery to what it makes each AWS service bill (requests, GB-seconds, write units,
 * GB-months, log bytes), and from that usage to dollars per service at the given prices.
 */
import type { DeliveryCase } from './deliveries';
import { storedBytes, writeUnits } from './item-size';
import { type Assumptions, awsPrices, type Prices } from './prices';
import type { RecordItems, StoredItem } from './records';

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
  'API Gateway',
  'Lambda, ingest',
  'Lambda, consumer',
  'SQS',
  'DynamoDB writes',
  'DynamoDB storage and PITR, 1 month',
  'S3 PUT',
  'S3 storage, 1 month',
  'CloudWatch Logs',
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
    'DynamoDB storage and PITR, 1 month':
      usage.dynamoDbGbMonths * p.dynamoDbStoragePerGbMonth + usage.pitrGbMonths * p.dynamoDbPitrPerGbMonth,
    'S3 PUT': (usage.s3Puts * p.s3PutPerThousand) / 1e3,
    'S3 storage, 1 month': usage.s3GbMonths * p.s3StandardPerGbMonth,
    'CloudWatch Logs': (usage.logBytes / GiB) * p.logsIngestPerGb,
  };
}

/** Dollars per million deliveries of the mix, each delivery of it equally often. */
export function perMillion(
  mix: readonly DeliveryCase[],
  usage: (delivery: DeliveryCase) => Usage,
  p: Prices = awsPrices,
): Record<Service, number> {
  const total = Object.fromEntries(services.map((service) => [service, 0])) as Record<Service, number>;
  for (const delivery of mix) {
    const each = dollars(usage(delivery), p);
    for (const service of services) total[service] += (each[service] * 1e6) / mix.length;
  }
  return total;
}

export const sum = (costs: Record<Service, number>) => services.reduce((total, service) => total + costs[service], 0);

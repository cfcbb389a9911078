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
 *
 * This module runs it and writes it up; the parts are under bench/cost/: item-size (DynamoDB's
 * arithmetic), records (a record's items), threshold (where gzip pays), deliveries (the day and
 * what is measured of it), usage (what each service bills, in dollars) and prices.
 */
import { limits } from '../lambdas/shared/definitions';
import { type DeliveryCase, measureCpu, measureLogBytes, scenarioDeliveries } from './cost/deliveries';
import { type Assumptions, assumptions, awsPrices, type Prices } from './cost/prices';
import { type RecordItems, type StoredItem, storedForm } from './cost/records';
import { gzipPays, recommendedGzipAboveBytes, type SizePoint, sizePoints } from './cost/threshold';
import { deliveryUsage, dollars, perMillion, type Service, services, sum } from './cost/usage';
import type { BenchContext, BenchRow } from './support';

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
    {
      what: `cost per million deliveries, records kept as maps up to 300 KiB (before recordMapMaxBytes; ${report.mixLabel}; ${where})`,
      product: usd(sum(report.today)),
      floor: usd(floor),
      ratio: sum(report.today) / floor,
      target: '',
    },
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
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map((cell) => cell.replaceAll('|', '/')).join(' | ')} |`),
  ].join('\n');

/** The longer section for bench/RESULTS.md: the per-service breakdown and how it was reached. */
export async function breakdown(report?: CostReport): Promise<string> {
  report ??= lastReport ?? (await measureCost({ quick: true, progress: () => {} }));
  const { prices: p, assumptions: a } = report;
  const threshold = kib(recommendedGzipAboveBytes);
  const below = report.sweep.find((point) => point.jsonBytes === report.pays.below);
  const each = (delivery: DeliveryCase, gzipAbove = limits.itemInlineMaxBytes) =>
    sum(dollars(deliveryUsage(delivery, (items) => storedForm(items, gzipAbove), a))) * 1e6;
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
      [
        ...services.map((s) => [s, usd(report.today[s]), usd(report.recommended[s]), usd(report.floor[s])]),
        ['**total**', usd(sum(report.today)), usd(sum(report.recommended)), usd(sum(report.floor))],
      ],
    ),
    '',
    '### Each record of the day, as the consumer writes it (`recordPut`)',
    '',
    "Item sizes by DynamoDB's rules (attribute names count; a map or list costs 3 bytes and 1 per element); a write costs 1 WCU per started KB, " +
      "the same for a conditional write, and the data table's `user-type-start-time` index entry 1 more. CPU is the consumer's work for the " +
      'record measured here (stringify, gzip, marshall, the request body), median. Each record replaces a stored copy of its size (Terra ' +
      "re-sends records as they fill in): a write costs the larger of the two, so the same; the simulator's records carry no scores to keep, " +
      'so none is read first (records.ts, `nothing_to_keep`).',
    '',
    table(
      ['record', 'JSON', 'map item', 'gzip item', 'index entry', 'merges enrichment', 'consumer CPU map / gzip'],
      report.mix.flatMap((d) =>
        d.records.map((items) => [
          d.name,
          kib(items.jsonBytes),
          form(items.map),
          form(items.gzip),
          items.indexBytes ? `${items.indexBytes} B` : 'none',
          items.mergesEnrichment ? 'yes: 2 writes' : 'no',
          cpu(items, d),
        ]),
      ),
    ),
    '',
    '### Each kind of delivery, $ per million of that kind',
    '',
    table(
      ['delivery', 'body', 'SQS message', 'maps up to 300 KiB (before)', `gzip above ${threshold} (default)`],
      report.deliveries.map((d) => [
        d.name,
        kib(d.body.length),
        kib(d.messageBytes),
        usd(each(d)),
        usd(each(d, recommendedGzipAboveBytes)),
      ]),
    ),
    '',
    `### The gzip threshold: ${threshold}`,
    '',
    "Records of growing size from the fixture builders (a Dexcom day of 0 to 288 readings, Xoss rides of 30 s to 1 h) and the day's records, " +
      "each written both ways. A map costs one write unit while the whole item stays within 1 KB, and the item's other attributes " +
      '(keys, times, hashes) take ~0.4 KiB. Every record from ' +
      `${report.pays.from === undefined ? 'none' : kib(report.pays.from)} of JSON up saves at least half its write units gzipped, and at least one; ` +
      `${below ? `the largest record below that, ${kib(below.jsonBytes)}, takes ${below.mapWriteUnits} as a map and ${below.gzipWriteUnits} gzipped. ` : ''}` +
      `So gzip above ${threshold}: the largest round size between the two, which keeps every record that costs nothing more as a map readable. ` +
      "Storage shrinks alike, and the consumer's CPU for a gzipped record is about that of marshalling its map, " +
      'less for large ones (above). ' +
      'What is given up is reading those records in the DynamoDB console; `npm run inspect` and `readRecord` read both forms. ' +
      "Longer ids (a customer's reference_id, a backfill's terra_reference) move the boundary down by their bytes: " +
      "a rule on the map item's size (map while the item is within 1 KB, by `itemBytes`) would follow it exactly.",
    '',
    table(
      ['JSON', 'map WCU', 'gzip WCU'],
      [...report.sweep]
        .sort((x, y) => x.jsonBytes - y.jsonBytes)
        .map((s) => [kib(s.jsonBytes), String(s.mapWriteUnits), String(s.gzipWriteUnits)]),
    ),
    '',
    '### Prices and assumptions',
    '',
    table(
      ['price', 'figure', 'source'],
      [
        ['API Gateway HTTP API, per million requests (512 KB each)', usd(p.apiGatewayHttpPerMillion), p.sources.apiGateway],
        [
          'Lambda Arm, per million requests / per GB-second',
          `${usd(p.lambdaRequestPerMillion)} / $${p.lambdaArmPerGbSecond}`,
          p.sources.lambda,
        ],
        ['SQS standard, per million requests (64 KB each)', usd(p.sqsStandardPerMillion), p.sources.sqs],
        ['DynamoDB on-demand, per million write request units', `$${p.dynamoDbWritePerMillion}`, p.sources.dynamoDbRequests],
        [
          'DynamoDB storage / PITR, per GB-month',
          `${usd(p.dynamoDbStoragePerGbMonth)} / ${usd(p.dynamoDbPitrPerGbMonth)}`,
          p.sources.dynamoDbStorage,
        ],
        ['S3 PUT per thousand / Standard per GB-month', `${usd(p.s3PutPerThousand)} / ${usd(p.s3StandardPerGbMonth)}`, p.sources.s3],
        ['CloudWatch Logs ingestion, per GB', usd(p.logsIngestPerGb), p.sources.logs],
      ],
    ),
    '',
    `- Durations: each function's CPU work measured here, scaled by Lambda's CPU share (1 vCPU at ${a.fullVcpuMemoryMb} MB; ingest ${a.ingestMemoryMb} MB, ` +
      `consumer ${a.consumerMemoryMb} MB), plus assumed round trips: SendMessage ${a.roundTripMs.sqsSendMessage} ms, PutObject ${a.roundTripMs.s3PutObject} ms, ` +
      `a DynamoDB write ${a.roundTripMs.dynamoDbWrite} ms, payloads at ${a.transferMBps} MB/s (the SDK's own work included). ` +
      `${a.messagesPerBatch} message(s) per consumer batch. \`measureCost(context, overrides)\` takes other figures.`,
    "- Log bytes are the real lines: the ingest EMF line and `delivery accepted`, the consumer's `delivery processed` and metrics flush, " +
      "through the functions' own JsonLogger and EMF writers with a Lambda context, plus Lambda's START/END/REPORT lines and the API's access log line.",
    "- Not per delivery, so left out: Lambda's SQS pollers' empty receives around the clock, the signing secret ($0.40 a month, one read " +
      'per container each 5 minutes), custom metrics and alarms, log storage after the first month, INIT time of cold starts, data transfer ' +
      '(in-region and inbound are free). Off by default, so left out: X-Ray, a customer-managed KMS key, the SQS and S3 destinations.',
  ].join('\n');
}

/**
 * The local stack's rows (`npm start`, lib/local): acknowledgement latency with the consumer idle
 * and while it drains a backlog, deliveries stored per second draining a backlog, and the time
 * from an acknowledgement to the item being readable. The stack runs here, in memory on free
 * ports, as `npm start` runs it (its default scheduling); its floors share its emulators
 * (bench/local-floors.ts). "Stored" is the consumer's own report: the stack's `metrics.consumer`
 * counter, called once a delivery's writes have returned (from the consumer's thread, when it has
 * one, so the product's figure includes that hop), rather than a poll that would load DynamoDB.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { DeliveryOutcome } from '../lambdas/consumer/process';
import { silentLogger } from '../lambdas/shared/logger';
import { signatureHeader } from '../lambdas/shared/signature';
import { type LocalStack, startLocalStack } from '../lib/local/local-stack';
import { type FloorPipeline, sendBatches, smallEvent, startFloorPipeline } from './local-floors';
import { type BenchContext, type BenchRow, interleaved, median, ms, percentile, sortedCopy } from './support';

export const benchSecret = 'bench-local-signing-secret';
const backlog = 2_000;
const ackTargets = { p50: 4, p99: 10 };
const drainTarget = 300;

/** POSTs a signed body (signed before the clock starts) and resolves to the milliseconds until the whole answer. */
export function post(agent: Agent, url: string, body: string): Promise<number> {
  const headers = {
    'content-type': 'application/json',
    'terra-signature': signatureHeader(benchSecret, body, Math.floor(Date.now() / 1000)),
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const outgoing = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume().on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`${url} answered ${response.statusCode}`));
          else resolve(performance.now() - started);
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** Deliveries the consumer reported stored: a count, and when a watched user's was. */
class StoredDeliveries {
  count = 0;
  private readonly watched = new Map<string, { at?: number; resolve?: (at: number) => void }>();
  private readonly thresholds: { count: number; resolve: () => void }[] = [];

  readonly counter = {
    count: (outcome: DeliveryOutcome) => {
      const at = performance.now();
      this.count++;
      const watch = outcome.userId === undefined ? undefined : this.watched.get(outcome.userId);
      if (watch) {
        watch.at = at;
        watch.resolve?.(at);
      }
      for (const threshold of this.thresholds.filter((entry) => this.count >= entry.count)) {
        this.thresholds.splice(this.thresholds.indexOf(threshold), 1);
        threshold.resolve();
      }
    },
  };

  watch(userId: string): () => Promise<number> {
    const watch: { at?: number; resolve?: (at: number) => void } = {};
    this.watched.set(userId, watch);
    return () => {
      const done = watch.at !== undefined ? Promise.resolve(watch.at) : new Promise<number>((resolve) => (watch.resolve = resolve));
      return done.finally(() => this.watched.delete(userId));
    };
  }

  /** Resolves once `count` deliveries were reported stored; fails when none is for `stallMs`. */
  reached(count: number, stallMs = 60_000): Promise<void> {
    if (this.count >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let seen = this.count;
      const watchdog = setInterval(() => {
        if (this.count > seen) seen = this.count;
        else reject(new Error(`stuck: ${this.count} of ${count} deliveries stored, none in ${stallMs / 1000} s`));
      }, stallMs);
      this.thresholds.push({
        count,
        resolve: () => {
          clearInterval(watchdog);
          resolve();
        },
      });
    });
  }
}

const latencyRow = (what: string, product: number[], floor: number[]): BenchRow => {
  const [p, f] = [sortedCopy(product), sortedCopy(floor)];
  const [p50, p99] = [percentile(p, 50), percentile(p, 99)];
  return {
    what,
    product: `p50 ${ms(p50)}, p99 ${ms(p99)}`,
    floor: `p50 ${ms(percentile(f, 50))}, p99 ${ms(percentile(f, 99))}`,
    ratio: p50 / percentile(f, 50),
    target: `p50 ≤ ${ackTargets.p50} ms, p99 ≤ ${ackTargets.p99} ms`,
    met: p50 <= ackTargets.p50 && p99 <= ackTargets.p99,
  };
};

interface Bench {
  stack: LocalStack;
  floor: FloorPipeline;
  stored: StoredDeliveries;
  agent: Agent;
  context: BenchContext;
}

/** One product request and one floor request per round, the order alternating. */
const ackPairs = (bench: Bench, rounds: number, onRound?: (round: number) => void) =>
  interleaved(
    rounds,
    () => post(bench.agent, bench.stack.webhookUrl, smallEvent()),
    () => post(bench.agent, bench.floor.ingestUrl, smallEvent()),
    onRound,
  );

async function ackIdle(bench: Bench): Promise<BenchRow> {
  const rounds = bench.context.quick ? 200 : 1_000;
  await ackPairs(bench, bench.context.quick ? 30 : 100);
  const samples = await ackPairs(
    bench,
    rounds,
    (round) => (round + 1) % 250 === 0 && bench.context.progress(`local ack, idle: ${round + 1}/${rounds}`),
  );
  return latencyRow('local ack latency, idle consumer', samples.product, samples.floor);
}

/** Sampled while at least a tenth of a fresh backlog is still queued, backlog after backlog. */
async function ackDraining(bench: Bench): Promise<BenchRow> {
  const wanted = bench.context.quick ? 200 : 1_000;
  const samples = { product: [] as number[], floor: [] as number[] };
  while (samples.product.length < wanted) {
    await bench.stack.eventSources.disable();
    await sendBatches(
      bench.stack.clients.sqs,
      bench.stack.queues.queueUrl,
      Array.from({ length: backlog }, () => smallEvent()),
    );
    const drained = bench.stored.count + backlog;
    await bench.stack.eventSources.enable();
    while (samples.product.length < wanted && drained - bench.stored.count > backlog / 10) {
      const pair = await ackPairs(bench, 10);
      samples.product.push(...pair.product);
      samples.floor.push(...pair.floor);
    }
    bench.context.progress(`local ack, draining: ${samples.product.length}/${wanted}`);
    await bench.stored.reached(drained);
  }
  return latencyRow(`local ack latency, draining a backlog of ${backlog.toLocaleString('en')}`, samples.product, samples.floor);
}

/** Milliseconds from enabling the event sources to the last of a backlog queued through the webhook being stored. */
async function productDrain(bench: Bench, count: number): Promise<number> {
  await bench.stack.eventSources.disable();
  const fill = new Agent({ keepAlive: true, maxSockets: 8 });
  const bodies = Array.from({ length: count }, () => smallEvent());
  await Promise.all(
    Array.from({ length: 8 }, async (_, lane) => {
      for (let index = lane; index < count; index += 8) await post(fill, bench.stack.webhookUrl, bodies[index]);
    }),
  );
  fill.destroy();
  const done = bench.stored.count + count;
  const started = performance.now();
  await bench.stack.eventSources.enable();
  await bench.stored.reached(done);
  return performance.now() - started;
}

async function drainRate(bench: Bench): Promise<BenchRow> {
  const rounds = bench.context.quick ? 1 : 3;
  const samples = await interleaved(
    rounds,
    () => productDrain(bench, backlog),
    () => bench.floor.drain(backlog),
    (round) => bench.context.progress(`local end to end: ${round + 1}/${rounds}`),
  );
  const rate = (milliseconds: number[]) => backlog / (median(milliseconds) / 1000);
  const [product, floor] = [rate(samples.product), rate(samples.floor)];
  const format = (value: number) => `${value.toFixed(0)} deliveries/s`;
  return {
    what: `local end to end, draining a ${backlog.toLocaleString('en')}-delivery backlog`,
    product: format(product),
    floor: format(floor),
    ratio: product / floor,
    target: `≥ ${drainTarget} deliveries/s`,
    met: product >= drainTarget,
  };
}

/** From the acknowledgement's arrival to the consumer's report that the delivery is stored, one at a time. */
async function ackToStored(bench: Bench): Promise<BenchRow> {
  const rounds = bench.context.quick ? 50 : 300;
  const product = async () => {
    const userId = randomUUID();
    const stored = bench.stored.watch(userId);
    const sent = performance.now();
    const acked = sent + (await post(bench.agent, bench.stack.webhookUrl, smallEvent(userId)));
    return (await stored()) - acked;
  };
  const floor = async () => {
    const userId = randomUUID();
    const stored = bench.floor.watch(userId);
    const sent = performance.now();
    const acked = sent + (await post(bench.agent, bench.floor.pipelineUrl, smallEvent(userId)));
    return (await stored()) - acked;
  };
  await bench.floor.startConsumer();
  try {
    await interleaved(bench.context.quick ? 10 : 30, product, floor);
    const samples = await interleaved(rounds, product, floor);
    const [p, f] = [sortedCopy(samples.product), sortedCopy(samples.floor)];
    return {
      what: 'local end to end latency, acknowledged → stored',
      product: `p50 ${ms(percentile(p, 50))}, p99 ${ms(percentile(p, 99))}`,
      floor: `p50 ${ms(percentile(f, 50))}, p99 ${ms(percentile(f, 99))}`,
      ratio: percentile(p, 50) / percentile(f, 50),
      target: 'informative',
    };
  } finally {
    await bench.floor.stopConsumer();
  }
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const stored = new StoredDeliveries();
  const stack = await startLocalStack({
    port: 0,
    dynamoDbPort: 0,
    sqsPort: 0,
    signingSecrets: [benchSecret],
    logger: silentLogger,
    metrics: { consumer: stored.counter },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  let floor: FloorPipeline | undefined;
  try {
    floor = await startFloorPipeline(stack, benchSecret);
    const bench: Bench = { stack, floor, stored, agent, context };
    const rows: BenchRow[] = [];
    context.progress('local ack, idle');
    rows.push(await ackIdle(bench));
    rows.push(await ackDraining(bench));
    rows.push(await drainRate(bench));
    context.progress('local end to end latency');
    rows.push(await ackToStored(bench));
    return rows;
  } finally {
    agent.destroy();
    await floor?.stop();
    await stack.stop();
  }
}

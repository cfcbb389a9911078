/**
 * `npm run bench -- --url URL --secret S`: the acknowledgement latency of a deployed (or any)
 * webhook endpoint, as Terra sees it. The floor is the same endpoint answering a request signed
 * with the wrong secret: the same API, function and secret check, without the enqueue.
 */
import { signatureHeader } from '../lambdas/shared/signature';
import { dataEventOfSize, sizeLabel } from './bodies';
import { type BenchContext, type BenchRow, interleaved, ms, percentile, sortedCopy, timed } from './support';

export interface DeployedTarget {
  url: string;
  secret: string;
  requests: number;
}

async function post(url: string, body: string, secret: string, expected: number): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'terra-signature': signatureHeader(secret, body, Math.floor(Date.now() / 1000)) },
    body,
  });
  await response.arrayBuffer();
  if (response.status !== expected) {
    throw new Error(`${url} answered ${response.status} where ${expected} was expected; check --url and --secret`);
  }
}

export async function run(context: BenchContext, target: DeployedTarget): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const forged = `${target.secret}-not`;
  for (const size of [1024, 100 * 1024]) {
    const body = dataEventOfSize(size, 'bench-deployed-user');
    // Warm the function and the connection first: the rows are about warm acknowledgements.
    for (let i = 0; i < 5; i++) await post(target.url, body, target.secret, 200);
    const samples = await interleaved(
      context.quick ? Math.min(target.requests, 50) : target.requests,
      () => timed(() => post(target.url, body, target.secret, 200)),
      () => timed(() => post(target.url, body, forged, 401)),
      (round) => {
        if ((round + 1) % 100 === 0) context.progress(`deployed ${sizeLabel(size)}: ${round + 1}/${target.requests}`);
      },
    );
    const [product, floor] = [sortedCopy(samples.product), sortedCopy(samples.floor)];
    rows.push({
      what: `deployed ack latency, ${sizeLabel(size)}: accepted vs refused (wrong secret, no enqueue), p50 (p99)`,
      product: `${ms(percentile(product, 50))} (${ms(percentile(product, 99))})`,
      floor: `${ms(percentile(floor, 50))} (${ms(percentile(floor, 99))})`,
      ratio: percentile(product, 50) / percentile(floor, 50),
      target: '',
    });
  }
  return rows;
}

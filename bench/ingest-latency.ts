/**
 * `npm run bench [-- --requests 1000 --concurrency 1 --url URL --secret S]`
 *
 * Acknowledgement latency of the ingest path (signature check + enqueue + answer) for a small
 * event, measured from the client. Without --url it starts its own in-memory local stack on free
 * ports, so the figure is the local stack's; with --url it measures any endpoint.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { signatureHeader } from '../lambdas/shared/signature';
import { silentLogger } from '../lambdas/shared/logger';
import { startLocalStack } from '../lib/local/local-stack';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '1' },
    url: { type: 'string' },
    secret: { type: 'string' },
  },
});

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

function smallEvent(n: number): string {
  // A deauth of ~300 bytes: the smallest realistic Terra delivery.
  return JSON.stringify({
    type: 'deauth',
    status: 'success',
    message: 'User has deauthenticated',
    version: '2022-03-16',
    user: { user_id: `bench-user-${n}`, provider: 'WITHINGS', reference_id: `ref-${n}`, scopes: 'activity,body,daily,sleep', active: false, created_at: '2026-11-01T10:00:00Z', last_webhook_update: null },
  });
}

async function main() {
  const requests = Number(values.requests);
  const warmup = Number(values.warmup);
  const concurrency = Number(values.concurrency);
  const secret = values.secret ?? 'bench-secret';
  const stack = values.url
    ? undefined
    : await startLocalStack({ port: 0, dynamoDbPort: 0, sqsPort: 0, signingSecrets: [secret], logger: silentLogger });
  const url = values.url ?? stack!.webhookUrl;

  const send = async (n: number) => {
    const body = smallEvent(n);
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'terra-signature': signatureHeader(secret, body, Math.floor(Date.now() / 1000)) },
      body,
    });
    await response.arrayBuffer();
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`request ${n} answered ${response.status}`);
    return elapsed;
  };

  for (let n = 0; n < warmup; n++) await send(-1 - n);
  const latencies: number[] = [];
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) latencies.push(await send(next++));
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);
  const bytes = Buffer.byteLength(smallEvent(0));
  console.log(`ingest acknowledgement latency: ${requests} requests of ${bytes} bytes, concurrency ${concurrency}, ${warmup} warm-up`);
  console.log(`  target  ${values.url ? url : 'in-memory local stack (dynalite + fauxqs), Node ' + process.version}`);
  console.log(
    `  p50 ${percentile(latencies, 50).toFixed(2)} ms   p90 ${percentile(latencies, 90).toFixed(2)} ms   p99 ${percentile(latencies, 99).toFixed(2)} ms   max ${latencies[latencies.length - 1].toFixed(2)} ms`,
  );
  console.log(`  throughput ${(requests / seconds).toFixed(0)} requests/s`);
  await stack?.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

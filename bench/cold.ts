/**
 * Cold-start rows: what a new Lambda container loads and evaluates before the first request. Each
 * function is bundled exactly as the stack bundles it (lib/constructs/lambda-bundle.ts) beside a
 * floor bundled the same way that only builds the SDK clients it cannot do without; import time
 * is taken in fresh Node processes, product and floor taking turns.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundleEntrySync, bundleLambdaSync, type LambdaBundle, lambdaNodeOptions } from '../lib/constructs/lambda-bundle';
import { atMost, type BenchContext, type BenchRow, interleaved, kib, median, ms } from './support';

const execFileAsync = promisify(execFile);
const floorEntry = (name: string) => fileURLToPath(new URL(`./floors/${name}.ts`, import.meta.url));

// What the handlers read at import (a missing one fails the cold start); the values are never used.
const importEnv = {
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench',
  SIGNING_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench',
  PAYLOAD_BUCKET: 'bench',
  DATA_TABLE: 'terra-data',
  USERS_TABLE: 'terra-users',
  EVENTS_TABLE: 'terra-events',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
};

/** Milliseconds from `import()` called to resolved, in a fresh process started as Lambda starts one. */
async function importTime(entry: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(entry)}); process.stdout.write(String(performance.now() - t));`;
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
    // The NODE_OPTIONS the stack gives the functions, for product and floor alike.
    env: { PATH: process.env.PATH, ...importEnv, NODE_OPTIONS: lambdaNodeOptions },
  });
  return Number(stdout);
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const work = mkdtempSync(join(tmpdir(), 'terra-ingest-cold-'));
  const rounds = context.quick ? 8 : 30;
  try {
    const bundle = (name: string, build: (outdir: string) => LambdaBundle) => build(join(work, name));
    const ingest = bundle('ingest', (dir) => bundleLambdaSync('ingest', dir));
    const sqsOnly = bundle('sqs-floor', (dir) => bundleEntrySync(floorEntry('sqs-client'), dir));
    const consumer = bundle('consumer', (dir) => bundleLambdaSync('consumer', dir));
    const clientsOnly = bundle('consumer-floor', (dir) => bundleEntrySync(floorEntry('dynamodb-s3-clients'), dir));

    const times = async (label: string, product: LambdaBundle, floor: LambdaBundle) => {
      await importTime(product.entry); // the first read of a file pays for the disk, not the import
      await importTime(floor.entry);
      const samples = await interleaved(
        rounds,
        () => importTime(product.entry),
        () => importTime(floor.entry),
        (round) => {
          if ((round + 1) % 10 === 0) context.progress(`${label}: ${round + 1}/${rounds} fresh processes each`);
        },
      );
      return { product: median(samples.product), floor: median(samples.floor) };
    };
    context.progress('cold: timing imports');
    const ingestImport = await times('ingest cold', ingest, sqsOnly);
    const consumerImport = await times('consumer cold', consumer, clientsOnly);
    return [
      atMost(
        'ingest cold: bundle bytes a cold start loads vs a bundle that only builds the SQS client',
        ingest.coldBytes,
        sqsOnly.coldBytes,
        1.25,
        kib,
      ),
      atMost('ingest cold: import time in a fresh Node process, same floor (median)', ingestImport.product, ingestImport.floor, 1.15, ms),
      {
        ...atMost(
          'consumer cold: bundle bytes vs a bundle that builds the DynamoDB document client and S3 client',
          consumer.coldBytes,
          clientsOnly.coldBytes,
          Infinity,
          kib,
        ),
        target: '',
        met: undefined,
      },
      atMost('consumer cold: import time, same floor (median)', consumerImport.product, consumerImport.floor, 1.2, ms),
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

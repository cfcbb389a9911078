/**
 * Ingest warm rows: the deployed ingest bundle's handler, in process, beside the floor (verify the
 * HMAC, then one bare SendMessage of the body; over 1 MiB, PutObject + SendMessage of a pointer),
 * request by request. The emulators (fauxqs: SQS and S3) and a Secrets Manager stand-in run here,
 * the function in a child process, as AWS and Lambda are separate machines.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';
import { bundleEntrySync, bundleLambdaSync } from '../lib/constructs/lambda-bundle';
import { localCredentials, localRegion, startSqsAndS3 } from '../lib/local/emulators';
import { ensureBucket, ensureQueues } from '../lib/local/provision';
import { sizeLabel } from './bodies';
import type { StepMedians, WarmRequest, WarmSamples } from './ingest-warm-child';
import { atMost, type BenchContext, type BenchRow, ms, percentile, sortedCopy } from './support';

const secret = 'bench-signing-secret';
const floorLimit = 1.05;

/** Secrets Manager's GetSecretValue as its JSON protocol answers it. */
async function startSecretsManager(value: string) {
  const server = createServer((request, response) => {
    request.resume().on('end', () => {
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      response.end(
        JSON.stringify({ ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench', Name: 'bench', SecretString: value }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Where the time between floor and handler goes, at one size: each step adds one part of the
 * handler to the floor (bench/floors/ingest-steps.ts), each ÷ the same floor, all interleaved.
 */
function stepsRow({ size, medians }: StepMedians): BenchRow {
  const of = (name: string) => (medians[name]! / medians.floor!).toFixed(2);
  return {
    what: `ingest warm, ${sizeLabel(size)}: where the handler's time goes (p50 ÷ floor, each step adding to the last)`,
    product:
      `floor bundled as the function ${of('bundledFloor')}; + its message (attributes, character check) and client settings ${of('withMessage')}; ` +
      `+ log and EMF lines ${of('withLogs')}; + full signature check ${of('withVerify')}; handler ${of('handler')}`,
    floor: ms(medians.floor!),
    ratio: medians.handler! / medians.floor!,
    target: 'informative',
  };
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const sizes = context.quick
    ? [
        { bytes: 1024, rounds: 60 },
        { bytes: 100 * 1024, rounds: 40 },
        { bytes: 900 * 1024, rounds: 20 },
        { bytes: 3 * 1024 * 1024, rounds: 8 },
        { bytes: 5 * 1024 * 1024, rounds: 6 },
      ]
    : [
        { bytes: 1024, rounds: 400 },
        { bytes: 100 * 1024, rounds: 200 },
        { bytes: 900 * 1024, rounds: 100 },
        { bytes: 3 * 1024 * 1024, rounds: 40 },
        { bytes: 5 * 1024 * 1024, rounds: 30 },
      ];
  const work = mkdtempSync(join(tmpdir(), 'terra-ingest-bench-'));
  const emulator = await startSqsAndS3(0);
  const secrets = await startSecretsManager(secret);
  const clientConfig = { region: localRegion, credentials: localCredentials, endpoint: emulator.endpoint };
  const sqs = new SQSClient(clientConfig);
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  try {
    const queues = await ensureQueues(sqs);
    const bucket = await ensureBucket(s3);
    context.progress('ingest warm: bundling the ingest function');
    const bundle = bundleLambdaSync('ingest', join(work, 'ingest'));
    const steps = bundleEntrySync(fileURLToPath(new URL('./floors/ingest-steps.ts', import.meta.url)), join(work, 'steps'));
    const stepSizes = context.quick
      ? [
          { bytes: 1024, rounds: 40 },
          { bytes: 100 * 1024, rounds: 20 },
        ]
      : [
          { bytes: 1024, rounds: 300 },
          { bytes: 100 * 1024, rounds: 100 },
        ];
    const request: WarmRequest = {
      bundle: bundle.entry,
      secret,
      sizes,
      warmup: context.quick ? 3 : 10,
      steps: { bundle: steps.entry, sizes: stepSizes },
    };
    const child = fork(fileURLToPath(new URL('./ingest-warm-child.ts', import.meta.url)), [JSON.stringify(request)], {
      execArgv: ['--import', 'tsx', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
      // The function's stdout is its log stream: written, as in Lambda, and discarded.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        AWS_REGION: localRegion,
        AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
        AWS_ENDPOINT_URL_SQS: emulator.endpoint,
        AWS_ENDPOINT_URL_S3: emulator.endpoint,
        AWS_S3_FORCE_PATH_STYLE: 'true',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
        BENCH_SIGNING_SECRET: secret,
        // The emulator's queue URLs name a host only its own clients resolve.
        QUEUE_URL: queues.queueUrl.replace(/^http:\/\/[^/]+/, emulator.endpoint),
        SIGNING_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench',
        PAYLOAD_BUCKET: bucket,
      },
    });
    const { results, steps: walked } = await new Promise<{ results: WarmSamples[]; steps: StepMedians[] }>((resolve, reject) => {
      child.on('message', (message: { progress?: number; steps?: boolean; results?: WarmSamples[]; stepMedians?: StepMedians[] }) => {
        if (message.results) return resolve({ results: message.results, steps: message.stepMedians ?? [] });
        context.progress(`ingest warm: ${sizeLabel(message.progress!)} ${message.steps ? 'steps ' : ''}done`);
        // Every measured copy stays in the emulator's memory otherwise.
        void sqs.send(new PurgeQueueCommand({ QueueUrl: queues.queueUrl })).catch(() => undefined);
      });
      child.on('exit', (code) => reject(new Error(`the ingest bench process exited with ${code} before reporting`)));
    });
    const rows = results.map(({ size, product, floor }): BenchRow => {
      const claimChecked = size > 1024 * 1024;
      const floorName = claimChecked ? 'HMAC + PutObject + SendMessage' : 'HMAC + SendMessage';
      const [p, f] = [sortedCopy(product), sortedCopy(floor)];
      const row = atMost(
        `ingest warm, ${sizeLabel(size)}: handler vs ${floorName} (p50)`,
        percentile(p, 50),
        percentile(f, 50),
        floorLimit,
        ms,
      );
      return { ...row, product: `${row.product} (p99 ${ms(percentile(p, 99))})`, floor: `${row.floor} (p99 ${ms(percentile(f, 99))})` };
    });
    return [...rows, ...walked.map(stepsRow)];
  } finally {
    sqs.destroy();
    s3.destroy();
    await secrets.stop();
    await emulator.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

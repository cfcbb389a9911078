/**
 * The consumer's throughput: records stored per second by the real batch handler (wired as
 * lambdas/consumer/handler.ts wires it: JSON logger, EMF metrics flushed after each batch),
 * against the floor: for the same deliveries, the least any consumer must do, one archive
 * PutObject of the body and one conditional PutItem per record (the record as a map), all of one
 * message at once, one message at a time as the product takes them (bench/consumer-child.ts).
 * dynalite and fauxqs run here; the function and the floor in a child process, through real SDK
 * clients, batch by batch in turn, as DynamoDB and S3 are other machines to a Lambda function: the
 * emulators' CPU is not the function's. Every batch is of users never seen before, so neither side
 * meets a repeat or a stored copy.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tables } from '../lambdas/shared/definitions';
import { localCredentials, localRegion, startDynamoDb, startSqsAndS3 } from '../lib/local/emulators';
import { createTableInput, ensureBucket, ensureTables } from '../lib/local/provision';
import type { ChildMessage, ConsumerRequest, ConsumerSamples } from './consumer-child';
import { atLeast, type BenchContext, type BenchRow, median } from './support';

const target = 0.9;
const floorBucket = 'bench-consumer-floor';
const floorTable = 'bench-consumer-floor';

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const dynamoDb = await startDynamoDb(0);
  const sqsAndS3 = await startSqsAndS3(0).catch(async (error) => {
    await dynamoDb.stop();
    throw error;
  });
  const config = { region: localRegion, credentials: localCredentials };
  const dynamoDbClient = new DynamoDBClient({ ...config, endpoint: dynamoDb.endpoint });
  const s3 = new S3Client({ ...config, endpoint: sqsAndS3.endpoint, forcePathStyle: true });
  try {
    await ensureTables(dynamoDbClient);
    const bucket = await ensureBucket(s3);
    // The floor writes to a table and bucket of its own, shaped like the product's, so neither
    // side's items sit in the other's partitions.
    await dynamoDbClient.send(new CreateTableCommand({ ...createTableInput(tables.data), TableName: floorTable }));
    await s3.send(new CreateBucketCommand({ Bucket: floorBucket }));

    const request: ConsumerRequest = {
      tables: { data: tables.data.localName, users: tables.users.localName, events: tables.events.localName },
      bucket,
      floorTable,
      floorBucket,
      sqsEndpoint: sqsAndS3.endpoint,
      quick: context.quick,
    };
    const child = fork(fileURLToPath(new URL('./consumer-child.ts', import.meta.url)), [JSON.stringify(request)], {
      execArgv: ['--import', 'tsx', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
      // The function's stdout is its log stream: written, as in Lambda, and discarded.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        AWS_REGION: localRegion,
        AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: dynamoDb.endpoint,
        AWS_ENDPOINT_URL_S3: sqsAndS3.endpoint,
        AWS_ENDPOINT_URL_SQS: sqsAndS3.endpoint,
      },
    });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    let results: ConsumerSamples[];
    try {
      results = await new Promise<ConsumerSamples[]>((resolve, reject) => {
        child.on('message', (message: ChildMessage) => {
          if ('results' in message) resolve(message.results);
          else context.progress(message.progress);
        });
        child.on('error', reject);
        child.on('exit', (code) => reject(new Error(`the consumer bench process exited with ${code} before reporting`)));
      });
    } finally {
      // It ends by itself once it has reported (writing its profile, if asked); the emulators
      // stop only after it has, and a child that hangs is ended.
      const timer = setTimeout(() => child.kill(), 30_000);
      await exited;
      clearTimeout(timer);
    }
    const rate = (recordsPerBatch: number, milliseconds: number[]) => recordsPerBatch / (median(milliseconds) / 1000);
    return results.map(({ what, recordsPerBatch, product, floor }) =>
      atLeast(what, rate(recordsPerBatch, product), rate(recordsPerBatch, floor), target, (value) => `${value.toFixed(0)} records/s`),
    );
  } finally {
    dynamoDbClient.destroy();
    s3.destroy();
    await sqsAndS3.stop();
    await dynamoDb.stop();
  }
}

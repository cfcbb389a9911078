/**
 * The Lambda side of the warm ingest rows, in its own process (bench/ingest-warm.ts starts it
 * with the emulators' endpoints in its environment): imports the ingest bundle the stack deploys
 * and times its handler beside the floor, request by request. Its stdout is the function's log
 * stream (discarded); the samples go back to the parent over IPC.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { signatureHeader } from '../lambdas/shared/signature';
import { dataEventOfSize } from './bodies';
import { interleaved, median, timed } from './support';

export interface WarmRequest {
  bundle: string;
  secret: string;
  /** Each body size with its number of rounds (fewer for the large ones: every copy stays in the emulator's memory). */
  sizes: { bytes: number; rounds: number }[];
  warmup: number;
  /** bench/floors/ingest-steps.ts, bundled as the function is, and the sizes to walk its steps at. */
  steps?: { bundle: string; sizes: { bytes: number; rounds: number }[] };
}

/** Median milliseconds of each step, floor (unbundled) first and handler last. */
export interface StepMedians {
  size: number;
  medians: Record<string, number>;
}

export interface WarmSamples {
  size: number;
  product: number[];
  floor: number[];
}

const request = JSON.parse(process.argv[2]) as WarmRequest;
const { handler } = (await import(request.bundle)) as { handler: (event: unknown, context: unknown) => Promise<{ statusCode: number }> };
const queueUrl = process.env.QUEUE_URL!;
const bucket = process.env.PAYLOAD_BUCKET!;
// The floor's clients: the same SDK, default settings.
const sqs = new SQSClient({});
const s3 = new S3Client({});
const context = { functionName: 'bench-ingest', awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 };
const sqsMessageLimit = 1024 * 1024;

const signed = (body: string) => ({
  version: '2.0',
  headers: { 'content-type': 'application/json', 'terra-signature': signatureHeader(request.secret, body, Math.floor(Date.now() / 1000)) },
  body,
  isBase64Encoded: false,
  requestContext: { http: { method: 'POST', path: '/webhook', sourceIp: '18.133.218.210' } },
});

/** The least any receiver must do: check the HMAC, put the body where the consumer will find it, answer. */
async function floor(event: ReturnType<typeof signed>, n: number): Promise<void> {
  const header = event.headers['terra-signature'];
  const timestamp = header.slice(2, header.indexOf(','));
  const expected = createHmac('sha256', request.secret).update(`${timestamp}.`).update(event.body).digest();
  if (!timingSafeEqual(expected, Buffer.from(header.slice(header.indexOf('v1=') + 3), 'hex'))) throw new Error('floor: bad signature');
  if (Buffer.byteLength(event.body) < sqsMessageLimit) {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: event.body }));
    return;
  }
  const key = `deliveries/bench/${process.pid}-${n}`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: event.body }));
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ claim_check: `s3://${bucket}/${key}` }) }));
}

async function product(event: ReturnType<typeof signed>): Promise<void> {
  const response = await handler(event, context);
  if (response.statusCode !== 200) throw new Error(`ingest handler answered ${response.statusCode}`);
}

const results: WarmSamples[] = [];
for (const { bytes: size, rounds } of request.sizes) {
  const body = dataEventOfSize(size);
  let n = 0;
  // Each request signed afresh (outside the timing), as Terra signs each delivery.
  for (let i = 0; i < request.warmup; i++) {
    await product(signed(body));
    await floor(signed(body), n++);
  }
  const samples = await interleaved(
    rounds,
    () => {
      const event = signed(body);
      return timed(() => product(event));
    },
    () => {
      const event = signed(body);
      const id = n++;
      return timed(() => floor(event, id));
    },
  );
  results.push({ size, ...samples });
  process.send!({ progress: size });
}
const steps: StepMedians[] = [];
if (request.steps) {
  const bundled = (await import(request.steps.bundle)) as Record<string, (event: ReturnType<typeof signed>) => Promise<void>>;
  const arms: [string, (event: ReturnType<typeof signed>, n: number) => Promise<void>][] = [
    ['floor', floor],
    ['bundledFloor', (event) => bundled.bundledFloor(event)],
    ['withMessage', (event) => bundled.withMessage(event)],
    ['withLogs', (event) => bundled.withLogs(event)],
    ['withVerify', (event) => bundled.withVerify(event)],
    ['handler', (event) => product(event)],
  ];
  for (const { bytes: size, rounds } of request.steps.sizes) {
    const body = dataEventOfSize(size);
    let n = 0;
    for (let i = 0; i < request.warmup; i++) for (const [, arm] of arms) await arm(signed(body), n++);
    const samples: Record<string, number[]> = Object.fromEntries(arms.map(([name]) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      // Each arm takes every place in the order in turn, as the two-arm rows do.
      const order = arms.map((_, index) => arms[(index + round) % arms.length]!);
      for (const [name, arm] of order) {
        const event = signed(body);
        const id = n++;
        samples[name]!.push(await timed(() => arm(event, id)));
      }
    }
    steps.push({ size, medians: Object.fromEntries(arms.map(([name]) => [name, median(samples[name]!)])) });
    process.send!({ progress: size, steps: true });
  }
}
process.send!({ results, stepMedians: steps });
process.disconnect();

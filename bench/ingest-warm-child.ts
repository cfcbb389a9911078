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
import { interleaved, timed } from './support';

export interface WarmRequest {
  bundle: string;
  secret: string;
  /** Each body size with its number of rounds (fewer for the large ones: every copy stays in the emulator's memory). */
  sizes: { bytes: number; rounds: number }[];
  warmup: number;
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
process.send!({ results });
process.disconnect();

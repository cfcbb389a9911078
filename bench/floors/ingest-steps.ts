/**
 * The steps from the ingest floor to the ingest handler, bundled exactly as the function is
 * (bench/ingest-warm.ts): each adds one part of what the handler does, so the warm rows can say
 * where the time between floor and handler goes. Every step uses the product's own modules.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { emfIngestMetrics } from '../../lambdas/ingest/metrics';
import { type Delivery, toSqsMessage } from '../../lambdas/shared/delivery';
import { JsonLogger } from '../../lambdas/shared/json-logger';
import { parseSecretList, verifySignature } from '../../lambdas/shared/signature';

interface SignedEvent {
  headers: Record<string, string>;
  body: string;
}

const queueUrl = process.env.QUEUE_URL!;
const secret = process.env.BENCH_SIGNING_SECRET!;
const bare = new SQSClient({});
// The ingest function's client settings (lambdas/ingest/handler.ts).
const configured = new SQSClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_500 } });
const logger = new JsonLogger({ serviceName: 'bench-ingest-steps' });
const metrics = emfIngestMetrics();

function hmacOnly(event: SignedEvent): number {
  const header = event.headers['terra-signature'];
  const timestamp = header.slice(2, header.indexOf(','));
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(event.body).digest();
  if (!timingSafeEqual(expected, Buffer.from(header.slice(header.indexOf('v1=') + 3), 'hex'))) throw new Error('bad signature');
  return Number(timestamp);
}

const delivery = (event: SignedEvent, signatureTimestamp: number): Delivery => ({
  body: event.body,
  signatureTimestamp,
  traceId: randomUUID(),
  receivedAt: new Date().toISOString(),
});

const send = async (client: SQSClient, message: ReturnType<typeof toSqsMessage>) => {
  if (!message) throw new Error('the body does not fit one message');
  return client.send(new SendMessageCommand({ QueueUrl: queueUrl, ...message }));
};

/** The floor, bundled as the function is: HMAC, then a bare SendMessage of the body. */
export async function bundledFloor(event: SignedEvent): Promise<void> {
  hmacOnly(event);
  await bare.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: event.body }));
}

/** + the message as the function sends it (metadata attributes, the SQS character check) and its client settings. */
export async function withMessage(event: SignedEvent): Promise<void> {
  await send(configured, toSqsMessage(delivery(event, hmacOnly(event))));
}

/** + the function's log line and EMF line. */
export async function withLogs(event: SignedEvent): Promise<void> {
  const { MessageId } = await send(configured, toSqsMessage(delivery(event, hmacOnly(event))));
  metrics.publish({ outcome: 'accepted', bodyBytes: event.body.length, claimChecked: false });
  logger.info('delivery accepted', { sqs_message_id: MessageId, body_bytes: event.body.length });
}

/** + the full signature check (header parsing, every v1, every secret, the replay window). */
export async function withVerify(event: SignedEvent): Promise<void> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const verdict = verifySignature(event.headers['terra-signature'], event.body, {
    secrets: parseSecretList(secret),
    toleranceSeconds: 300,
    nowSeconds,
  });
  if (!verdict.valid) throw new Error(verdict.reason);
  const { MessageId } = await send(configured, toSqsMessage(delivery(event, verdict.timestamp)));
  metrics.publish({ outcome: 'accepted', bodyBytes: event.body.length, claimChecked: false });
  logger.info('delivery accepted', { sqs_message_id: MessageId, body_bytes: event.body.length });
}

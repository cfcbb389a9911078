import { randomUUID } from 'node:crypto';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DeliveryOutcome } from '../../lambdas/consumer/process';
import { emfIngestMetrics } from '../../lambdas/ingest/metrics';
import { observability } from '../../lambdas/shared/definitions';
import { putObject } from '../../lambdas/shared/s3';
import { s3Url } from '../../lambdas/shared/s3-url';
import { signatureHeader } from '../../lambdas/shared/signature';
import type { LocalStack } from '../../lib/local/local-stack';
import { terraUser, xertActivity } from '../../lib/tools/fixtures';
import { deliver, drained, queueDrained, startTestStack, testSecret, waitFor } from '../support/local';

/**
 * What the functions log, on the real handlers and stand-ins, with Powertools' own formatting:
 * one delivery can be followed from the ingest line to the consumer's by its trace id and SQS
 * message id, and no line ever holds a body, a signature or the signing secret.
 */

/** Powertools' Logger, formatting as in Lambda, printing into `lines` instead of stdout. */
class CapturingLogger extends Logger {
  constructor(
    serviceName: string,
    private readonly lines: string[],
  ) {
    super({ serviceName, logLevel: 'DEBUG' });
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    this.lines.push(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

const { logKeys, services } = observability;
const start = Date.parse('2026-11-20T06:00:00Z');
const wrongSecret = 'forged-signing-secret-5d1e';

/** Every line any part of the stack printed: both functions' logs, the stand-ins' and the EMF lines. */
const lines: string[] = [];
const payloadBytes: number[] = [];
let pingDownloadFailures = 0;
/** What a line must never contain: the secrets, every signature sent, markers inside every body. */
const secrets = new Set<string>([testSecret, wrongSecret]);

type Line = Record<string, unknown>;
const parsed = (): Line[] => lines.map((line) => JSON.parse(line) as Line);
const ingestLines = () => parsed().filter((line) => line.service === services.ingest && line.message !== undefined);
const consumerLines = () => parsed().filter((line) => line.service === services.consumer && line.message !== undefined);

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({
    logger: new CapturingLogger('terra-ingest-local', lines),
    loggers: { ingest: new CapturingLogger(services.ingest, lines), consumer: new CapturingLogger(services.consumer, lines) },
    metrics: {
      ingest: emfIngestMetrics((line) => lines.push(line)),
      consumer: {
        count: (outcome: DeliveryOutcome) => void (outcome.payloadBytes !== undefined && payloadBytes.push(outcome.payloadBytes)),
        pingDownloadFailed: () => void pingDownloadFailures++,
      },
    },
    s3NotificationIntervalMs: 200,
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

/** A marker only this body holds: were any line to contain it, a body was logged. */
function marker(name: string): string {
  const value = `MARKER-${name}-${randomUUID()}`;
  secrets.add(value);
  return value;
}

/** Signs and POSTs like Terra; the signature's hex joins what no line may contain. */
async function send(raw: string, headers: Record<string, string> = {}, secret = testSecret) {
  const signature = signatureHeader(secret, raw, Math.floor(Date.now() / 1000));
  secrets.add(signature.split('v1=')[1]);
  return deliver(stack, raw, { headers: { 'terra-signature': signature, ...headers } });
}

function activityBody(userId: string, durationSeconds: number, note: string) {
  const event = xertActivity({
    user: terraUser({ userId, provider: 'XERT' }),
    start,
    durationSeconds,
    sampleIntervalSeconds: 1,
    seed: userId,
  });
  const summaryId = (event.data[0] as { metadata: { summary_id: string } }).metadata.summary_id;
  secrets.add(summaryId);
  return JSON.stringify({ ...event, note });
}

const processed = (messageId: string) =>
  waitFor(
    async () => consumerLines().find((line) => line[logKeys.messageId] === messageId && line.message === 'delivery processed'),
    `the consumer's line for ${messageId}`,
    60_000,
  );

describe('logs and metrics of a sample of deliveries', () => {
  const users = {
    small: `user-obs-${randomUUID()}`,
    large: `user-obs-${randomUUID()}`,
    secretLooking: `user-obs-${randomUUID()}`,
    auth: `user-obs-${randomUUID()}`,
  };
  const terraTrace = `terra-trace-${randomUUID()}`;
  const references = { small: `ref-small-${randomUUID()}`, secretLooking: `ref-secret-${randomUUID()}`, ping: `ref-ping-${randomUUID()}` };
  const pingSignature = marker('ping-url-signature');
  let bodies: Record<'small' | 'large' | 'auth', string>;
  let destinationMessageId: string;

  beforeAll(async () => {
    bodies = {
      small: activityBody(users.small, 600, marker('small')),
      large: activityBody(users.large, 8_000, marker('large')),
      auth: JSON.stringify({
        type: 'auth',
        status: 'success',
        user: terraUser({ userId: users.auth, provider: 'DEXCOM' }),
        reference_id: marker('auth-reference'),
        widget_session_id: 'w',
        message: 'User has authenticated',
      }),
    };
    expect(Buffer.byteLength(bodies.large)).toBeGreaterThan(1024 * 1024);
    const secretLooking = JSON.stringify({
      type: 'sleep',
      user: terraUser({ userId: users.secretLooking, provider: 'WITHINGS' }),
      data: [
        {
          metadata: { summary_id: marker('sleep-summary'), start_time: '2026-11-20T23:00:00+00:00', end_time: '2026-11-21T07:00:00+00:00' },
        },
      ],
      api_key: `sk_live_${marker('secret-looking')}`,
    });
    const ping = JSON.stringify({
      type: 's3_payload',
      status: 'success',
      // A pre-signed URL into a bucket that does not exist: 404, kept as ping_fetch_failed.
      url: `${stack.sqs.endpoint}/terra-obs-missing/payload.json?X-Amz-Signature=${pingSignature}`,
      expires_in: 600,
    });
    const rejected = JSON.stringify({ type: 'activity', note: marker('rejected') });

    // Side by side, so the consumer sees several in one batch: keys must not cross between them.
    const answers = await Promise.all([
      send(bodies.small, { 'x-terra-trace-id': terraTrace, 'terra-reference': references.small }),
      send(bodies.large),
      send(rejected, {}, wrongSecret),
      send(secretLooking, { 'terra-reference': references.secretLooking }),
      send(bodies.auth),
      send(ping, { 'terra-reference': references.ping }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 401, 200, 200, 200]);

    // Terra's other doors: a message on its SQS destination, an object in its S3 destination.
    const sqsDestination = await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.destinations.queueUrl,
        MessageBody: JSON.stringify({ type: 'healthcheck', status: 'success', note: marker('healthcheck') }),
      }),
    );
    destinationMessageId = sqsDestination.MessageId!;
    const s3Body = activityBody(`user-obs-${randomUUID()}`, 300, marker('s3-destination'));
    await putObject(stack.clients.s3, s3Url(stack.destinations.bucket, `2022-03-16/activity/obs-${randomUUID()}.json`), s3Body);

    await drained(stack, 60_000);
    await queueDrained(stack, stack.destinations.queueUrl, 60_000);
    for (const line of ingestLines().filter((each) => each.message === 'delivery accepted'))
      await processed(line[logKeys.messageId] as string);
    await processed(destinationMessageId);
    await waitFor(
      async () => consumerLines().find((line) => line.door === 's3_destination' && line.message === 'delivery processed'),
      'the S3 destination object',
      60_000,
    );
  }, 180_000);

  it('no line holds the signing secret, a signature, or anything of a body', () => {
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      for (const secret of secrets) expect(line).not.toContain(secret);
    }
  });

  it('the ingest function logs one line per accepted delivery, with its trace id, message id, size and claim check', () => {
    const accepted = ingestLines().filter((line) => line.message === 'delivery accepted');
    expect(accepted).toHaveLength(5);
    for (const line of accepted) {
      expect(line).toMatchObject({
        level: 'INFO',
        [logKeys.traceId]: expect.any(String),
        [logKeys.messageId]: expect.any(String),
        body_bytes: expect.any(Number),
      });
    }
    expect(accepted.filter((line) => line.claim_checked === true).map((line) => line.body_bytes)).toEqual([
      Buffer.byteLength(bodies.large),
    ]);
    expect(accepted.find((line) => line[logKeys.traceId] === terraTrace)).toMatchObject({ [logKeys.terraReference]: references.small });
  });

  it("every line about an accepted delivery carries its trace id and message id, on both sides, never another delivery's", () => {
    const accepted = new Map(
      ingestLines()
        .filter((line) => line.message === 'delivery accepted')
        .map((line) => [line[logKeys.messageId], line]),
    );
    const webhookLines = consumerLines().filter((line) => line.door === 'webhook' || accepted.has(line[logKeys.messageId]));
    expect(webhookLines.length).toBeGreaterThanOrEqual(accepted.size);
    for (const line of webhookLines) {
      const ingest = accepted.get(line[logKeys.messageId]);
      expect(ingest).toBeDefined();
      expect(line[logKeys.traceId]).toBe(ingest![logKeys.traceId]);
      expect(line[logKeys.terraReference]).toBe(ingest![logKeys.terraReference]);
    }
    for (const line of ingestLines()) expect(line[logKeys.traceId]).toEqual(expect.any(String));
  });

  it('a trace id minted for a delivery Terra sent without one is logged on both sides', () => {
    const authIngest = ingestLines().find(
      (line) => line.message === 'delivery accepted' && line.body_bytes === Buffer.byteLength(bodies.auth),
    )!;
    const minted = authIngest[logKeys.traceId] as string;
    expect(minted).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const consumer = consumerLines().filter((line) => line[logKeys.traceId] === minted);
    expect(consumer.map((line) => line.message)).toContain('delivery processed');
    expect(consumer.every((line) => line[logKeys.messageId] === authIngest[logKeys.messageId])).toBe(true);
  });

  it('the consumer names the user once routing found one', () => {
    for (const [name, userId] of Object.entries(users)) {
      const line = consumerLines().find((each) => each.message === 'delivery processed' && each[logKeys.userId] === userId);
      expect({ name, line }).toEqual({ name, line: expect.objectContaining({ [logKeys.traceId]: expect.any(String) }) });
    }
  });

  it("Terra's SQS and S3 destination messages are keyed by their SQS message id", () => {
    expect(consumerLines().find((line) => line[logKeys.messageId] === destinationMessageId)).toMatchObject({
      door: 'sqs_destination',
      [logKeys.traceId]: destinationMessageId,
    });
    const s3Line = consumerLines().find((line) => line.door === 's3_destination' && line.message === 'delivery processed')!;
    expect(s3Line[logKeys.traceId]).toBe(s3Line[logKeys.messageId]);
  });

  it('the failed Ping download is logged with its reason and trace id, and counted', () => {
    const failed = consumerLines().filter((line) => line.message === 'Ping-mode download failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      [logKeys.terraReference]: references.ping,
      reason: 'download answered HTTP 404',
      [logKeys.traceId]: expect.any(String),
    });
    expect(pingDownloadFailures).toBe(1);
  });

  it('the consumer counts the bytes of each body it read, the claim-checked one included', () => {
    expect(payloadBytes).toContain(Buffer.byteLength(bodies.large));
    expect(payloadBytes).toContain(Buffer.byteLength(bodies.small));
  });

  it('the ingest function publishes one EMF line per request: 5 accepted, 1 claim-checked, 1 rejected by reason', () => {
    const emf = parsed().filter((line) => line._aws !== undefined);
    expect(emf).toHaveLength(6);
    const sum = (name: string) => emf.reduce((total, line) => total + ((line[name] as number | undefined) ?? 0), 0);
    expect(sum(observability.metrics.deliveriesAccepted)).toBe(5);
    expect(sum(observability.metrics.claimChecked)).toBe(1);
    expect(emf.filter((line) => line[observability.metrics.deliveriesRejected] === 1)).toEqual([
      expect.objectContaining({ service: services.ingest, reason: 'signature_mismatch' }),
    ]);
  });
});
